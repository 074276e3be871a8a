// Lint setup: typescript-eslint's recommended rules (type-aware where it matters) with formatting
// left to prettier (`npm run format`). `npm run lint` must report nothing; it also runs
// `lint:cycles`, which refuses any import cycle in the library, type-only imports included.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // test/compat/*: apps with their own dependencies and tsconfig, checked by `npm run test:compat`.
  {
    ignores: [
      '**/dist/**',
      'node_modules/**',
      'coverage/**',
      '.cache/**',
      'docs/**',
      'test/compat/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'warn',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['warn', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unsafe-function-type': 'off',
      // Keys, namespaces and tags are checked for control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: { console: 'readonly', process: 'readonly', setTimeout: 'readonly' },
    },
  },
  prettier,
);

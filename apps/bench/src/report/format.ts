import type { Summary } from '../infra/stats.js';
import { formatOps } from '../scenarios/library.js';

/** A row of the page's bars table: a measured value against the bar it must clear. */
export interface Bar {
  readonly scenario: string;
  readonly measure: string;
  readonly bar: string;
  readonly value: Summary | undefined;
  readonly format: (v: number) => string;
  readonly pass: (median: number) => boolean;
}

/** Formatters of the report's cells. */
export const ratio = (v: number) => `${v < 0.095 ? v.toPrecision(2) : v.toFixed(2)}×`;
export const ns = (v: number) => `${v.toFixed(0)} ns`;
export const us = (v: number) => `${v.toFixed(1)} µs`;
export const signedUs = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)} µs`;
export const ms = (v: number) => `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`;
export const bytes = (v: number) => `${v.toFixed(0)} B`;
export const count = (v: number) => v.toFixed(0);
export const rps = (v: number) => formatOps(v);

/** `median (min–max)`, or just the value when every round measured the same. */
export function cell(s: Summary | undefined, f: (v: number) => string): string {
  if (s === undefined || s.n === 0) return 'n/a';
  return s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

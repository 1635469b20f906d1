import { readFile } from "fs";
const path = require("path");

/** Adds numbers. */
export function add(a: number, b: number): number {
  return a > 0 && b > 0 ? a + b : 0;
}

export class Service {
  private count = 0;
  public async fetch(url: string): Promise<void> {
    for (const x of [1, 2]) {
      if (x ?? 0) { await readFile(url); }
    }
  }
}

export const double = (x: number) => x * 2;
interface Shape { area(): number }
type Id = string;
enum Color { Red, Green }

// Types of scripts/test-rules.mjs, for its unit test (test/unit/runner/rules.test.ts).
export interface NamedSkip { readonly file: string; readonly name: string; readonly reason: string }
export declare const COVERAGE_FLOORS: { readonly lines: number; readonly branches: number; readonly functions: number };
export declare function collectSkips(file: string, output: string): NamedSkip[];
export declare function noTestRun(total: number, skipped: number, named: number): string[];
export declare function skipBlock(skips: readonly NamedSkip[]): string;
export declare function allowedSkips(root: string): NamedSkip[];
export declare function checkCi(o: {
  root: string; noQemu: boolean; skipQemu: boolean; skips: readonly NamedSkip[]; qemuRan: ReadonlyMap<string, number>; coverageOn: boolean;
}): string[];
export declare function coverageArgs(root: string, tempDir: string, checked: boolean): string[];

#!/usr/bin/env node
// Thin launcher: Node 24 (pinned in package.json) runs the TypeScript sources directly. Node's
// compile cache (under the OS temp folder) keeps V8's compiled code between runs, so every command
// after the first starts faster.
import module from 'node:module';

module.enableCompileCache?.();
await import('../src/cli/main.ts');

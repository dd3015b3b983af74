#!/usr/bin/env node
// Thin launcher: Node 24 (pinned in package.json) runs the TypeScript sources directly.
import '../src/cli/main.ts';

#!/usr/bin/env node
// The `metered-demo` command: the built CLI. A committed file rather than `dist/cli.js`
// itself, so that package managers can link the command when they install a workspace that
// has not been built yet.
import '../dist/cli.js';

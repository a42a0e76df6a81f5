#!/usr/bin/env node
// Launcher for `npx caption-studio`: registers the TypeScript loader, then runs the CLI from source.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');

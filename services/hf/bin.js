#!/usr/bin/env node
// The hf CLI: registers tsx (the package ships TypeScript), then runs main.ts.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");

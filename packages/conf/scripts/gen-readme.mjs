// Rewrites the generated sections of README.md from the schema (run after `tsc -b`).
import { readFileSync, writeFileSync } from "node:fs";
import { updateReadme } from "../dist/index.js";

const path = new URL("../README.md", import.meta.url);
const before = readFileSync(path, "utf8");
const after = updateReadme(before);
if (after !== before) {
  writeFileSync(path, after);
  console.log("README.md updated");
} else {
  console.log("README.md already up to date");
}

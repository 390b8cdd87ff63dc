// `import { check } from "metalab/check"`: the value-check entry point for test cells (docs/grading.md). It loads
// only the check function, so a test notebook's setup cell stays fast.
module.exports = require("./dist/src/grading/check");

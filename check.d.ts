export * from "./dist/src/grading/check";

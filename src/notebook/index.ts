/**
 * metalab/notebook: run notebooks headlessly in a Jupyter kernel (tslab by default, any kernelspec works), read and
 * write .ipynb files, and check executed outputs. Needs no Python; loads zeromq (not the `metalab` library).
 */
export { type RunOptions, type CellReport, type RunResult, runNotebook } from "./runner";
export { type KernelStartOptions, type ExecuteOptions, type ExecuteOutcome, type CellProgress, progressOf, KernelClient } from "./kernel";
export { type KernelCommand, type LaunchContext, type KernelWrapper, type KernelLaunchOptions, kernelCommand, launchKernel, KernelProcess } from "./kernel-process";
export { type ClientChannel, KernelChannels } from "./kernel-channels";
export { OutputCollector } from "./output-collector";
export { type CellVerdict, judgeExecution } from "./failure";
export { type NotebookLike, figureOutputs, figureOutputProblems } from "./check-outputs";
export {
  type MultilineString,
  type MimeBundle,
  type StreamOutput,
  type DisplayDataOutput,
  type ExecuteResultOutput,
  type ErrorOutput,
  type Output,
  type NbgraderMetadata,
  type CellMetadata,
  type CodeCell,
  type MarkdownCell,
  type RawCell,
  type Cell,
  type NotebookMetadata,
  type Notebook,
  NotebookFormatError,
  joinSource,
  splitLines,
  parseNotebook,
  readNotebook,
  serializeNotebook,
  writeNotebook,
  ensureCellIds,
  cloneNotebook,
  codeCell,
  markdownCell,
  emptyNotebook,
} from "./ipynb";
export { type KernelSpec, launcherArgv, kernelSearchDirs, builtinSpec, listKernelSpecs, findKernelSpec } from "../jupyter/kernelspec";
export { type Transport, type Channel, type ConnectionInfo, socketAddress, channelAddress } from "../jupyter/connection";
export { type MessageHeader, type JupyterMessage, newMessage, encodeMessage, decodeMessage } from "../jupyter/wire";

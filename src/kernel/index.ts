/**
 * metalab/kernel: the Jupyter kernel metalab registers (tslab 1.0.22 with its protocol gaps closed), for embedding or
 * testing it. Loads tslab and its TypeScript compiler. Registering it: `node dist/src/kernel/install.js`.
 */
export { KernelServer, type RawMessage, type ReplyOutcome, parseRaw, signedFrames, readExecuteRequest, readConnectionInfo, kernelInfo, executeReplyContent, plainText } from "./server";
export { SendQueue, type Outgoing, type SendSocket, type SendQueueOptions, type SendQueueStats } from "./send-queue";
export { type DisplaySink, type CellRequest, type CellIo, type CellOutcome, CellRunner } from "./cell-runner";
export { type JupyterError, COMPILE_ERROR_NAME, type ErrorCall, toJupyterError } from "./errors";
export { type InstallOptions, parseInstallArgs, kernelJson } from "./install";
export { parseConfigPath } from "./launch";

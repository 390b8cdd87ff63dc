/**
 * metalab, the library: what a notebook imports as `import * as ml from "metalab"`. Named exports only, grouped by
 * layer (docs/architecture.md). Tooling has its own entry points: `metalab/notebook` (runner), `metalab/grading`,
 * `metalab/kernel`. Internals (display sinks, renderers, fast-path kernels) are not exported.
 */

// Core: seeded randomness, the tfjs backend, parameter records, quick/full run mode.
export { Rng, rng } from "./core/random";
export { ready, describeBackend, backendInfo, BACKEND_ORDER, type BackendInfo, type BackendName } from "./core/backend";
export { type Params, mapParams, zipParams, addScaled, assertSameKeys, disposeParams, cloneParams, globalNorm, tileForTasks, countParams } from "./core/params";
export { type RunMode, runMode, iters } from "./core/run-mode";
export { type LoopProgress, type LoopGuardOptions, LoopGuard, loopGuard, InterruptedError, isInterrupt, requestInterrupt, interruptRequests } from "./core/interrupt";

// Automatic differentiation: functional transforms, second-order-safe activations, gradient checks, stateful wrappers.
export { type ParamFn, grad, valueAndGrad, hvp, functionalCall } from "./autodiff/functional";
export { ACTIVATIONS, type ActivationName, activate, tanh, sigmoid, exp, softmax, logSoftmax, stopGradient } from "./autodiff/activations";
export {
  type FdDtype,
  type FdTolerance,
  FD_TOLERANCES,
  type GradCheckOptions,
  type OrderCheck,
  type GradCheckReport,
  checkGradients,
  assertGradientsMatch,
  checkNumericGradient,
} from "./autodiff/finite-diff";
export { type FunctionalModel, StatefulModule } from "./autodiff/stateful";
export { type UnrolledLoop, vjp, checkpointedLoopGrad } from "./autodiff/checkpoint";

// Optimisers: pure update rules on parameter records.
export { sgdStep } from "./optim/sgd";
export { type AdamConfig, DEFAULT_ADAM, adamConfig, type AdamState, initAdam, adamStep, disposeAdam } from "./optim/adam";
export { clipByGlobalNorm } from "./optim/clip";
export { type Schedule, type CosineScheduleConfig, cosineSchedule } from "./optim/schedule";
export { type OptimizableModule, type SgdOptions, type AdamOptions, SGD, Adam } from "./optim/stateful";

// Task families: batches with a leading task dimension.
export { type TaskBatch, type BatchSpec, type TaskLoss, type TaskFamily, batchSpec, disposeBatch } from "./tasks/task-family";
export {
  type Range,
  type RegressionTasks,
  type RegressionBatch,
  type GridSpec,
  linspace,
  RegressionFamily,
  type SineFamilyConfig,
  FINN_SINE,
  SineFamily,
  type PolynomialFamilyConfig,
  DEFAULT_POLYNOMIAL,
  PolynomialFamily,
  linearFamily,
} from "./tasks/regression";
export { type BlobClassificationConfig, DEFAULT_BLOBS, blobClassificationConfig, BlobClassification, classificationRows } from "./tasks/classification";

// Real data: dataset folders, Omniglot (Lake et al. 2015) and its one-shot runs, MNIST digits.
export { DataError } from "./data/errors";
export { cacheRoot, datasetEnvVar, datasetDir } from "./data/data-dir";
export {
  OMNIGLOT_ARCHIVES,
  type OmniglotSetName,
  OMNIGLOT_RUNS_ARCHIVE,
  OMNIGLOT_ORIGINAL_SIZE,
  omniglotFix,
  omniglotDir,
  type OmniglotCharacter,
  type OmniglotImages,
  type LoadOmniglotOptions,
  defaultOmniglotSets,
  loadOmniglot,
  omniglotImage,
  omniglotCounts,
} from "./data/omniglot";
export { type OneShotRun, type OneShotRuns, type LoadRunsOptions, loadOneShotRuns, runsBatch, runsSubEpisodes, runErrors, nearestNeighbourRuns } from "./data/omniglot-runs";
export { type OmniglotTasksConfig, DEFAULT_OMNIGLOT_TASKS, rotateSquare, OmniglotTasks, splitCharacters } from "./data/omniglot-tasks";
export { OMNIGLOT_BASE_URL, omniglotDownloads, type DownloadOmniglotOptions, downloadOmniglot } from "./data/omniglot-download";
export {
  MNIST_PIXELS,
  MNIST_SIDE,
  MNIST_CLASSES,
  MNIST_DIR_ENV,
  type MnistDigits,
  type MnistSet,
  type MnistSplit,
  type MnistLoadOptions,
  mnistDataDir,
  loadMnist,
  clearMnistCache,
  mnistSubset,
  splitMnist,
} from "./data/mnist";
export { type DigitTile, type DigitGridOptions, digitGridSvg, digitTiles } from "./data/mnist-figure";

// Models: apply(params, x) functions and their losses.
export { type MlpConfig, FINN_SINE_MLP, layerParamNames, mlpParamNames, headNames, initMlp, dense, mlpFeatures, mlpApply, Mlp, mlpConfig } from "./models/mlp";
export { perTaskMse, perTaskCrossEntropy, perTaskLoss, summedTaskLoss, meanTaskLoss, perTaskAccuracy, classificationAccuracy } from "./models/losses";
export {
  type BnStats,
  type BatchNormState,
  taskStats,
  batchNormalize,
  initBatchNormState,
  updateRunningStats,
  type BatchNormOptions,
  batchNorm,
  batchNormOptions,
  type BnMlpConfig,
  bnMlpConfig,
  DEFAULT_BN_MLP,
  type BnMode,
  type BnApplyOptions,
  initBnMlp,
  initBnMlpState,
  bnMlpApply,
  BnMlp,
} from "./models/batchnorm";
export { type ConvNorm, type ConvNetConfig, OMNIGLOT_CONV, convSides, convEmbeddingSize, initConvNet, convFeatures, convApply, ConvNet, convNetConfig } from "./models/conv";
export { conv2dSame, convValid, convInputAdjoint, convFilterAdjoint } from "./models/conv-op";
export { type ResidualMlpConfig, DEFAULT_RESIDUAL_MLP, residualMlpParamNames, initResidualMlp, residualMlpFeatures, residualMlpApply, ResidualMlp } from "./models/residual-mlp";

// Learners: pure steps with a thin class on top, and test-time adaptation.
export { type TaskModel, splitParams } from "./learners/model";
export { type SteppingLearner, type LearnerState, type PureStep, StepLearner } from "./learners/learner";
export { type OnProgress, type LoopOptions, type TrainOptions, FINN_SINE_BATCH, runSteps, runStepsAsync, trainLoop, trainLoopAsync, loopOptions, trainOptions } from "./learners/train";
export { type AdaptSgdOptions, adaptSgdOptions, type SupportSet, adaptSgd } from "./learners/adapt-sgd";
export {
  type MamlOptions,
  DEFAULT_MAML,
  mamlOptions,
  type MamlGradient,
  type MamlContext,
  initInnerLrs,
  mamlInnerStep,
  mamlInnerLoop,
  mamlLoss,
  mamlMetaGradient,
  checkpointedMetaGradient,
  mamlAdaptedPredictions,
  mamlAdaptedLosses,
  type MamlState,
  initMamlState,
  mamlStep,
  disposeMamlState,
  Maml,
} from "./learners/maml";
export { type SubsetOptions, innerSupport } from "./learners/support-subset";
export { type ReptileOptions, DEFAULT_REPTILE, type ReptileState, reptileDelta, reptileStep, Reptile } from "./learners/reptile";
export { type PretrainOptions, DEFAULT_PRETRAIN, type PretrainState, initPretrainState, pretrainStep, disposePretrainState, Pretrain } from "./learners/pretrain";
export {
  type RidgeForm,
  solveSpd,
  withBias,
  ridgeSolve,
  type RidgeOptions,
  DEFAULT_RIDGE,
  ridgePredict,
  ridgeLoss,
  type RidgeState,
  initRidgeState,
  ridgeStep,
  disposeRidgeState,
  RidgeHead,
} from "./learners/ridge";
export { type NewtonOptions, DEFAULT_NEWTON, logisticGradient, logisticHessian, logisticNewtonSolve, logisticObjective } from "./learners/newton-head";
export {
  type HeadSolver,
  type ConvexHeadOptions,
  DEFAULT_CONVEX_HEAD,
  HEAD_LOG_LAMBDA,
  HEAD_SCALE,
  HEAD_BIAS,
  convexHeadOptions,
  initHeadMeta,
  convexHeadPredict,
  convexHeadLoss,
  type ConvexHeadState,
  initConvexHeadState,
  convexHeadStep,
  disposeConvexHeadState,
  convexHeadAccuracy,
  headFeatureGradients,
  ConvexHead,
} from "./learners/convex-head";
export {
  type HypernetworkConfig,
  DEFAULT_HYPERNETWORK,
  initHypernetwork,
  hyperEmbed,
  classMeans,
  hyperHead,
  hyperPredict,
  hyperLoss,
  type HypernetworkState,
  hyperStep,
  Hypernetwork,
} from "./learners/hypernetwork";
export {
  type ProtoNetOptions,
  DEFAULT_PROTONET,
  protoNetOptions,
  prototypes,
  prototypeLogits,
  protoNetLogits,
  protoNetLoss,
  protoNetEvaluate,
  type ProtoNetState,
  initProtoNetState,
  protoNetStep,
  disposeProtoNetState,
  ProtoNet,
} from "./learners/protonet";
export { type ReplaySplit, replayCounts, type ReplayBatch, replayBatch } from "./learners/replay";
export { distillationLoss } from "./learners/distill";
export { type EwcAnchor, type PerExampleLogLikelihood, fisherDiagonal, ewcPenalty, mergeAnchors, disposeAnchor } from "./learners/ewc";
export {
  type BnMamlOptions,
  DEFAULT_BN_MAML,
  type BnMamlState,
  initBnMaml,
  bnMamlLoss,
  bnMamlStep,
  type BnEvalMode,
  type BnEvalResult,
  bnMamlEvaluate,
  disposeBnMaml,
  BnMaml,
} from "./learners/bn-maml";
export {
  type HeadInit,
  type AdaptationMethod,
  type AdaptOptions,
  type AdaptationRow,
  type AdaptationResult,
  initHead,
  closedFormProbe,
  evaluateAdapted,
  adaptOptions,
  adapt,
} from "./learners/adaptation";
export { type LoraConfig, DEFAULT_LORA, loraConfig, initLora, mergeLora, type LoraAdaptOptions, loraAdaptOptions, type LoraResult, adaptLora, loraTrainableCount } from "./learners/lora";
export { PROMPT, type PromptAdaptOptions, promptAdaptOptions, type PromptResult, promptedApply, adaptPrompt } from "./learners/soft-prompt";
export { type EarlyStopOptions, DEFAULT_EARLY_STOP, earlyStop } from "./learners/early-stopping";

// The fast path: WebAssembly MAML for plain MLPs, and the check that says when it applies and why not.
export { type FastMamlTrainerConfig, FastMamlTrainer } from "./fast/fast-maml-trainer";
export { fastMamlTrainerConfig } from "./fast/fast-maml-config";
export { type FastPathMode, FAST_PATH_MODES, type FastPathReport, checkFastPath } from "./fast/eligibility";

// Evaluation: held-out protocols, sharpness, step cost.
export {
  type EvalProtocol,
  DEFAULT_PROTOCOL,
  type EvalLearner,
  type HeldOutSet,
  heldOutSet,
  heldOutSetFrom,
  disposeHeldOut,
  type CurveRow,
  trimmedMean,
  learnerCurves,
  adaptationCurves,
  curvesFrame,
  writeCsv,
  type DataFrame,
} from "./eval/protocol";
export { type SharpnessOptions, sharpnessOptions, supportSharpness } from "./eval/sharpness";
export { type StabilityOptions, DEFAULT_STABILITY, type StabilityRow, sgdStability, type UpdateNorms, updateNormsPerTask } from "./eval/stability";
export { linearCka, mlpLayerOutputs, layerSimilarity } from "./eval/cka";
export { type MeasureStepOptions, type StepCost, measureStep } from "./eval/measure";

// Experiments: the studies the labs run, each a function with a typed, defaulted config.
export { type FitModel, type FitRowsOptions, fitRowsOptions, type FitRow, fitRows } from "./experiments/fits";
export {
  type BnProgress,
  type BnVariant,
  type BnPitfallsConfig,
  DEFAULT_BN_PITFALLS,
  bnPitfallsConfig,
  type BnTrainRow,
  type BnEvalRow,
  runBnPitfalls,
  pivotBnResults,
  bnAccuracy,
} from "./experiments/bn-pitfalls";
export {
  type ClassifierPretrainConfig,
  DEFAULT_CLASSIFIER_PRETRAIN,
  classifierPretrainConfig,
  pretrainClassifier,
  type AdaptationMethodSpec,
  type AdaptationComparisonConfig,
  DEFAULT_ADAPTATION_COMPARISON,
  adaptationComparisonConfig,
  type AdaptationSummaryRow,
  type AdaptationCurveRow,
  compareAdaptation,
} from "./experiments/transfer";
export {
  type HeadMode,
  type ForgettingConfig,
  DEFAULT_FORGETTING,
  forgettingConfig,
  type ForgettingRow,
  type ForgettingSummary,
  runForgetting,
  forgettingSweep,
} from "./experiments/continual";
export {
  FEW_SHOT_METHODS,
  type FewShotMethod,
  type OmniglotFewShotConfig,
  DEFAULT_OMNIGLOT_FEW_SHOT,
  fewShotConfig,
  type FewShotRun,
  type FewShotProgress,
  trainFewShot,
  fewShotLogits,
  evaluateOnRuns,
  runConfusion,
  OMNIGLOT_PUBLISHED,
  OMNIGLOT_PUBLISHED_EPISODES,
  type PublishedEpisodes,
  fewShotError,
  episodeImages,
} from "./experiments/omniglot-few-shot";
export { type OmniglotBnConfig, DEFAULT_OMNIGLOT_BN, omniglotBnConfig, type OmniglotBnRow, runOmniglotBnModes } from "./experiments/omniglot-bn";
export {
  SPLIT_MNIST_TASKS,
  type Scenario,
  SCENARIOS,
  type ContinualMethod,
  CONTINUAL_METHODS,
  type SplitMnistConfig,
  DEFAULT_SPLIT_MNIST,
  splitMnistConfig,
  type SplitMnistData,
  type PrepareOptions,
  prepareSplitMnistOptions,
  prepareSplitMnist,
  disposeSplitMnistData,
  taskOfDigit,
  splitMnistHeadNames,
  initSplitMnistParams,
  scenarioLogits,
  scenarioTargets,
  type SplitMnistRow,
  type SplitMnistCurvePoint,
  type SplitMnistSummary,
  methodsFor,
  type SplitMnistProgress,
  runSplitMnist,
  splitMnistSweep,
} from "./experiments/split-mnist";
export {
  type PublishedSplitMnistRow,
  PUBLISHED_SPLIT_MNIST,
  PUBLISHED_SOURCES,
  type SplitMnistComparisonRow,
  splitMnistComparison,
  type SplitMnistBenchRun,
  splitMnistBenchFile,
  readSplitMnistBench,
} from "./experiments/split-mnist-published";
export { type OmniglotBenchRow, omniglotBenchFile, readOmniglotBench } from "./experiments/omniglot-bench";

// Charts: Vega-Lite specs, rendered to SVG/PNG and saved.
export {
  type Chart,
  type Row,
  type DataInput,
  type AxisSpec,
  type SeriesSpec,
  type FrameOptions,
  type LineOptions,
  type ScatterOptions,
  type BarOptions,
  type FitsOptions,
  type ConcatOptions,
  lineChart,
  scatterChart,
  barChart,
  fitsChart,
  concatCharts,
  svgFigure,
  describeChart,
} from "./plot/chart";
export { type TaskChartOptions, taskChart } from "./plot/task-chart";
export { type HeatmapOptions, heatmapChart, type GalleryImage, type GalleryOptions, imageGalleryChart } from "./plot/heatmap";
export { renderSvg, renderPng } from "./plot/render";
export { type SavedFigure, figuresDir, saveFigure } from "./plot/save";

// Notebook display: figures, tables, progress, live training, checked numbers, tensor hygiene.
export { display, show } from "./display/display";
export { type FigureHandle, displayChart } from "./display/figure";
export { type TableOptions, displayTable, displayMarkdown } from "./display/table";
export { type ProgressOptions, type ProgressInfo, ProgressBar, progressBar, progressOptions } from "./display/progress";
export { type LiveTrainingOptions, type HistoryRow, downsampleHistory, type LiveTraining, liveTraining, liveTrainingOptions } from "./display/live";
export { type TrainLiveOptions, trainLive, trainLiveOptions } from "./display/train-live";
export { type ReportValue, report } from "./display/report";
export { type Disposable, keep, noLeak } from "./display/notebook-state";

// Computational graphs of scalar functions, for the first lab.
export { type ScalarOp, type ScalarLike, type ScalarGraphRow, ScalarNode, ScalarGraph, type ScalarTrace, traceScalar } from "./graph/scalar-graph";
export { type GraphSvgOptions, graphToSvg } from "./graph/graph-svg";

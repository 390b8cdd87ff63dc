// Public surface of metalab: re-exports only.
export * from "./core/random";
export * from "./core/backend";
export * from "./core/params";
export * from "./autodiff/activations";
export * from "./autodiff/functional";
export * from "./autodiff/finite-diff";
export * from "./autodiff/stateful";
export * from "./models/mlp";
export * from "./tasks/task-family";
export * from "./tasks/regression";
export * from "./models/losses";
export * from "./optim/adam";
export * from "./optim/sgd";
export * from "./optim/schedule";
export * from "./optim/clip";
export * from "./tasks/classification";
export * from "./models/batchnorm";

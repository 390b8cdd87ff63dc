// Links node_modules/metalab to this project so notebooks (tslab compiles with Node10 resolution) can `import "metalab"`.
const fs = require("fs");
const path = require("path");
const root = path.resolve(__dirname, "..");
const link = path.join(root, "node_modules", "metalab");
fs.mkdirSync(path.dirname(link), { recursive: true });
try {
  const st = fs.lstatSync(link);
  if (st.isSymbolicLink() && path.resolve(path.dirname(link), fs.readlinkSync(link)) === root) process.exit(0);
  fs.rmSync(link, { recursive: true, force: true });
} catch {
  // Not there yet.
}
fs.symlinkSync("..", link, "dir");

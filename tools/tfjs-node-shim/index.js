// danfojs-node requires "@tensorflow/tfjs-node"; give it the project's @tensorflow/tfjs instead (same engine,
// no native download). See package.json "overrides".
module.exports = require("@tensorflow/tfjs");

/**
 * Sampling CLI, a thin dispatcher:
 *   npm run sample -- --model <name|file.ckpt> …   image score models (tools/sample/model.ts): unconditional,
 *                                                  --class K (class-conditional) or --inpaint R --from-test I..J
 *   npm run sample -- --toy <preset> …             toy 2-D distributions (tools/sample/toy.ts)
 * Run with --help after --model or --toy for the options of each.
 */
const argv = process.argv.slice(2);
const modes: Record<string, string> = { "--model": "./sample/model", "--toy": "./sample/toy" };
const mode = argv.find((a) => a in modes);
if (!mode) {
  console.error("usage: npm run sample -- --model <name|file> [options]  |  --toy <preset> [options]  (add --help for the options)");
  process.exit(2);
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const run = require(modes[mode]).main as (args: string[]) => Promise<void>;
run(argv).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});

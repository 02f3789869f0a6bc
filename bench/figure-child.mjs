// Runs one figure module in this (fresh) process and sends its results to bench/run.mjs.
const [file, json] = process.argv.slice(2);
const options = JSON.parse(json);
const module = await import(`./${file}`);
let message;
try {
  const reason = module.unavailable?.();
  if (reason) message = { skipped: reason };
  else message = { results: await module.measure(options) };
} catch (error) {
  message = { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  console.error(error);
}
process.send(message, () => process.exit(0));

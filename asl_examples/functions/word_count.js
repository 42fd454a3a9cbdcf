#!/usr/bin/env node
// WordCount: a Lambda function run as a command (asl.toml maps the function to it).
// The event arrives as JSON on stdin; the result goes to stdout as JSON. A failure is Lambda's
// error envelope on stdout, {"errorType": ..., "errorMessage": ...}, with a non-zero exit, so
// a Catch on its errorType ("InvalidInput") matches, as it would on AWS.
"use strict";

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  const text = Buffer.concat(chunks).toString("utf8");
  const event = text.trim() === "" ? null : JSON.parse(text);
  if (event === null || typeof event !== "object" || typeof event.text !== "string") {
    process.stdout.write(
      JSON.stringify({
        errorType: "InvalidInput",
        errorMessage: "The event needs a string field 'text', e.g. {\"text\": \"to be or not\"}",
      }),
    );
    // exitCode, not process.exit(): writes to a pipe are asynchronous in Node, and exiting
    // at once could cut the envelope short.
    process.exitCode = 1;
    return;
  }
  const words = event.text.split(/\s+/).filter((word) => word.length > 0);
  const longest = words.reduce((best, word) => (word.length > best.length ? word : best), "");
  process.stdout.write(JSON.stringify({ words: words.length, longest }));
});

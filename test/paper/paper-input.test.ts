/**
 * Bad input to paper trading: the engine's lines (parsed before anything acts
 * on them), `[paper]` in shriven-pipeline.toml, and the `paper` command line.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parsePipelineConfig } from "../../src/config/pipeline-config.js";
import { paperPolicyFrom, paperPolicySchema } from "../../src/paper/policy.js";
import { ProtocolViolation, parseEngineLine, quoteLine, timeText } from "../../src/paper/protocol.js";
import { allStepIds } from "../../src/stages/registry.js";
import { runCli } from "../helpers/cli.js";
import { configError } from "../helpers/config-error.js";
import { tempDir } from "../helpers/temp.js";

function violation(line: string): ProtocolViolation {
  try {
    parseEngineLine(line);
  } catch (error) {
    if (error instanceof ProtocolViolation) return error;
    throw error;
  }
  throw new Error(`expected a protocol violation for ${line}`);
}

const NEW = '{"type":"new","seq":4,"client_id":"b1","symbol":"BTCUSDT","side":"buy","order_type":"limit","price":"61837.5","qty":"0.001"}';

describe("engine lines", () => {
  it("reads every message type, the common ready line without JSON.parse and any key order through it", () => {
    expect(parseEngineLine('{"type":"ready","seq":7,"processing_ns":812}')).toEqual({ type: "ready", seq: 7, processingNs: 812 });
    expect(parseEngineLine('{"processing_ns":0,"seq":7,"type":"ready"}')).toEqual({ type: "ready", seq: 7, processingNs: 0 });
    expect(parseEngineLine(NEW)).toMatchObject({ type: "new", seq: 4, clientId: "b1", side: 1, orderType: "limit", price: "61837.5" });
    expect(
      parseEngineLine('{"type":"new","seq":4,"client_id":"s2","symbol":"BTCUSDT","side":"sell","order_type":"market","qty":"1"}'),
    ).toMatchObject({
      side: 2,
      price: undefined,
    });
    expect(parseEngineLine('{"type":"cancel","seq":9,"client_id":"b1"}')).toEqual({ type: "cancel", seq: 9, clientId: "b1" });
    expect(parseEngineLine('{"type":"hello","protocol":1,"engine":"x 1.0","extra":[1]}')).toEqual({
      type: "hello",
      protocol: 1,
      engine: "x 1.0",
    });
    expect(parseEngineLine('{"type":"bye","seq":3}')).toEqual({ type: "bye", seq: 3 });
  });

  it.each([
    ["", "not a JSON object (the line does not parse)"],
    ['{"type":"new",', "not a JSON object (the line does not parse)"],
    ["[1,2]", "not a JSON object"],
    ["null", "not a JSON object"],
    ['"ready"', "not a JSON object"],
    ["{}", 'missing field "type"'],
    ['{"type":7}', 'field "type" must be a string'],
    ['{"type":"modify","seq":1}', 'unknown message type "modify"'],
    ['{"type":"ready","seq":0,"processing_ns":1}', 'field "seq" must be a positive integer, got 0'],
    ['{"type":"ready","seq":"3","processing_ns":1}', 'field "seq" must be a positive integer, got "3"'],
    ['{"type":"ready","seq":1.5,"processing_ns":1}', 'field "seq" must be a positive integer, got 1.5'],
    ['{"type":"ready","seq":1,"processing_ns":-5}', 'field "processing_ns" must be a number of ns ≥ 0'],
    ['{"type":"ready","seq":1}', 'missing field "processing_ns"'],
    [NEW.replace('"0.001"', '"-1"'), 'field "qty" must be a decimal string'],
    [NEW.replace('"0.001"', '"1e5"'), 'field "qty" must be a decimal string'],
    [NEW.replace('"0.001"', '"0.000"'), 'field "qty" must be above 0, got "0.000"'],
    [NEW.replace('"0.001"', "0.001"), 'field "qty" must be a decimal string'],
    [NEW.replace('"61837.5"', '"NaN"'), 'field "price" must be a decimal string'],
    [NEW.replace('"61837.5"', '"007"'), 'field "price" must be a decimal string'],
    [NEW.replace('"buy"', '"long"'), 'field "side" must be "buy" or "sell"'],
    [NEW.replace('"limit"', '"stop"'), 'field "order_type" must be "limit", "ioc" or "market"'],
    [NEW.replace('"b1"', '"has space"'), 'field "client_id" must be 1–36 characters'],
    [NEW.replace('"b1"', `"${"x".repeat(37)}"`), 'field "client_id" must be 1–36 characters'],
    [NEW.replace(',"price":"61837.5"', ""), 'missing field "price"'],
    [NEW.replace('"limit"', '"market"'), 'a market order must not have a "price"'],
    ['{"type":"hello","protocol":"1","engine":"x"}', 'field "protocol" must be an integer'],
    ['{"type":"hello","protocol":1,"engine":""}', 'field "engine" must be a name of 1–200 characters'],
  ])("refuses %j: %s", (line, reason) => {
    const error = violation(line);
    expect(error.message).toContain(reason);
    expect(error.line).toBe(quoteLine(line));
  });

  it("quotes at most 200 characters of a line, with control characters escaped", () => {
    const error = violation(`{"type":"x${"y".repeat(5000)}`);
    expect(error.line.length).toBe(201);
    expect(error.line.endsWith("…")).toBe(true);
    expect(quoteLine("a\u0000b\nc")).toBe("a\\u0000b\\u000ac");
  });

  it("writes times as exact ns since the epoch", () => {
    expect(timeText(1_723_161_253, 937_085_768)).toBe("1723161253937085768");
    expect(timeText(1_723_161_253, 60e9 + 5)).toBe("1723161313000000005");
    expect(timeText(0, 42)).toBe("42");
  });
});

describe("[paper] settings", () => {
  it("has documented defaults", () => {
    expect(paperPolicyFrom(undefined)).toMatchObject({
      engineCommand: ["target/release/shriven-quant", "paper"],
      orderLatencyMs: 5,
      responseLatencyMs: 5,
      makerFeeBps: 10,
      takerFeeBps: 10,
      requireProfit: true,
      latencyP99LimitUs: 100,
      memoryWarnPercent: 10,
      memoryFailPercent: 20,
      messageTimeoutMs: 5000,
      minMarketSeconds: 3600,
      market: undefined,
      faults: { malformed: "fail", unsorted: "fail", duplicate: "skip", gap: "skip", crossed: "skip" },
    });
    expect(paperPolicyFrom({ min_market_seconds: 600, market: "usdm" })).toMatchObject({ minMarketSeconds: 600, market: "usdm" });
    expect(paperPolicyFrom({ faults: { duplicate: "fail" } }).faults).toMatchObject({ duplicate: "fail", malformed: "fail" });
  });

  it.each([
    ["order_latency_ms = -1", "paper.order_latency_ms: expected 0 or more"],
    ["order_latency_ms = 0\nresponse_latency_ms = 0", "order_latency_ms + response_latency_ms must be above 0"],
    ['maker_fee_bps = "ten"', "paper.maker_fee_bps: expected basis points"],
    ["taker_fee_bps = 5000", "paper.taker_fee_bps: expected at most 1000"],
    ['faults = { malformed = "ignore" }', "paper.faults.malformed: expected fail or skip"],
    ['faults = { typo = "skip" }', "paper.faults.typo: unknown key"],
    ["memory_warn_percent = 30", "paper.memory_fail_percent: expected more than memory_warn_percent"],
    ["engine_command = []", "paper.engine_command: expected a command"],
    ["require_profit = 1", "paper.require_profit: expected true or false"],
    ["latency = 5", "paper.latency: unknown key"],
    ["min_market_seconds = -1", "paper.min_market_seconds: expected 0 or more seconds"],
    ['min_market_seconds = "1h"', "paper.min_market_seconds: expected seconds"],
    ['market = "futures"', 'paper.market: expected "spot", "usdm" or "coinm"'],
    ["market = 1", 'paper.market: expected "spot", "usdm" or "coinm"'],
  ])("refuses %s", (table, message) => {
    const error = configError(() => parsePipelineConfig(`[paper]\n${table}\n`, "shriven-pipeline.toml", allStepIds()));
    expect(error.message).toContain("shriven-pipeline.toml");
    expect(error.problems.join("\n")).toContain(message);
  });

  it("accepts a full table", () => {
    const parsed = paperPolicySchema.safeParse({ order_latency_ms: 0, response_latency_ms: 1, pin_cpu: false, data: ["a.gz"] });
    expect(parsed.success).toBe(true);
  });
});

describe("paper command line", () => {
  it.each([
    [["paper", "--format", "xml"], "--format: expected text or json"],
    [["paper", "--speed", "2"], "Unknown option '--speed'"],
    [["paper", "stray"], "Unexpected argument 'stray'"],
  ])("refuses %j", async (args, message) => {
    const run = await runCli(args, { cwd: tempDir() });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it("refuses a live trading mode before building or replaying anything", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "live.env"), "TRADING_MODE=live\n");
    const run = await runCli(["paper", "--source", dir, "--env-file", join(dir, "live.env"), "--data", "x.gz"], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("TRADING_MODE");
    expect(run.stderr).toContain("live.env:1");
  });

  it("names a bad [paper] table before anything runs", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "shriven-pipeline.toml"), "[paper]\norder_latency_ms = -3\n");
    const run = await runCli(["paper", "--source", dir, "--data", "x.gz"], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("paper.order_latency_ms: expected 0 or more");
  });
});

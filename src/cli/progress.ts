/**
 * Live progress of a stage: on a terminal, a block of lines redrawn in place
 * (each step's state and elapsed time); in CI or a pipe, one plain line per
 * event.
 */

import type { Stage, StageEvent } from "../engine/stage.js";
import type { Step } from "../engine/step.js";
import { stepLine } from "../report/console.js";
import { formatDuration } from "../report/report.js";
import type { TextOut } from "./io.js";

/** Something that can show stage progress. */
export interface ProgressView {
  onEvent(event: StageEvent): void;
  /** Stops redrawing; the final summary is printed after. */
  stop(): void;
}

/** One line per step start and finish: readable in CI logs. */
export class PlainProgress implements ProgressView {
  constructor(
    private readonly out: TextOut,
    private readonly stage: Stage,
  ) {}

  onEvent(event: StageEvent): void {
    if (event.type === "step-started") this.out.write(`[${this.stage.name}] ▶ ${event.step.title} started\n`);
    else this.out.write(`[${this.stage.name}] ${stepLine(event.result)}\n`);
  }

  stop(): void {}
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** A redrawn block, one line per step, ticking every 100 ms. */
export class LiveProgress implements ProgressView {
  private readonly steps: Step[];
  private readonly lines = new Map<string, string>();
  private readonly started = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private drawn = 0;
  private frame = 0;

  constructor(
    private readonly out: TextOut,
    stage: Stage,
  ) {
    this.steps = stage.groups.flat();
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
    this.draw();
  }

  onEvent(event: StageEvent): void {
    if (event.type === "step-started") this.started.set(event.step.id, event.startedAt);
    else this.lines.set(event.result.id, stepLine(event.result));
    this.draw();
  }

  stop(): void {
    clearInterval(this.timer);
    this.draw();
  }

  private draw(): void {
    this.frame = (this.frame + 1) % SPINNER.length;
    const now = Date.now();
    const block = this.steps.map((step) => {
      const done = this.lines.get(step.id);
      if (done !== undefined) return done;
      const since = this.started.get(step.id);
      return since === undefined
        ? `·  ${step.title}: waiting`
        : `${SPINNER[this.frame]}  ${step.title}: running ${formatDuration(now - since)}`;
    });
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : "";
    this.out.write(`${up}${block.map((line) => `\x1b[2K${line}\n`).join("")}`);
    this.drawn = block.length;
  }
}

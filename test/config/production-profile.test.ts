/** The profile rules of a production run (src/config/production-profile.ts). */
import { describe, expect, it } from "vitest";
import { productionProfileProblem } from "../../src/config/production-profile.js";

describe("production profile", () => {
  it("takes the production profile trading live, or paper in a local rehearsal", () => {
    expect(productionProfileProblem({ ENVIRONMENT: "production", TRADING_MODE: "live" }, false)).toBeUndefined();
    expect(productionProfileProblem({ ENVIRONMENT: "production", TRADING_MODE: "paper" }, true)).toBeUndefined();
  });

  it("refuses another environment's profile and the wrong trading mode, saying why", () => {
    expect(productionProfileProblem({ ENVIRONMENT: "test", TRADING_MODE: "paper" }, false)).toMatch(/profile is test, not production/);
    expect(productionProfileProblem({ ENVIRONMENT: "production", TRADING_MODE: "paper" }, false)).toMatch(/production profile trades live/);
    expect(productionProfileProblem({ ENVIRONMENT: "production", TRADING_MODE: "live" }, true)).toMatch(
      /local rehearsal trades paper only/,
    );
  });
});

/** Who a release tag's author is, and the approvals its other names gave themselves (src/approval/tag-author.ts). */
import { describe, expect, it } from "vitest";
import type { Approval } from "../../src/approval/approvals.js";
import { SELF_APPROVAL_REASON } from "../../src/approval/decide.js";
import { type VerifiedAuthor, withoutTaggerApprovals } from "../../src/approval/tag-author.js";

const AT = new Date("2026-11-28T04:30:00Z");
const approval = (approver: string): Approval => ({ approver, at: AT, source: "file" });
const author = (name: string, others: string[] = []): VerifiedAuthor => ({ name, how: "test", others });

describe("tag author", () => {
  it("leaves out approvals under the tagger's name or e-mail when someone else pushed, ignoring case and spaces", () => {
    const tag = { tagger: "Asha", taggerEmail: "asha.k@shriven.example" };
    const { counted, ignored } = withoutTaggerApprovals(
      [approval(" ASHA "), approval("asha.k"), approval("ravi"), approval("ci-bot"), approval("rerunner")],
      tag,
      author("ci-bot", ["rerunner"]),
    );
    expect(counted.map((a) => a.approver)).toEqual(["ravi", "ci-bot"]);
    expect(ignored).toEqual([
      { approver: " ASHA ", reason: SELF_APPROVAL_REASON },
      { approver: "asha.k", reason: SELF_APPROVAL_REASON },
      { approver: "rerunner", reason: SELF_APPROVAL_REASON },
    ]);
  });

  it("leaves the author's own approvals to the decision", () => {
    const tag = { tagger: "asha", taggerEmail: "asha@shriven.example" };
    const { counted, ignored } = withoutTaggerApprovals([approval("asha"), approval("ravi")], tag, author("asha"));
    expect(counted.map((a) => a.approver)).toEqual(["asha", "ravi"]);
    expect(ignored).toEqual([]);
  });
});

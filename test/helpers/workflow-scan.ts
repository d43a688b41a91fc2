/**
 * Finds `${{ … }}` expressions where GitHub Actions pastes their values into
 * program text before the program runs: every `run:` script, and the inputs of
 * actions that paste their inputs into a script. A value pasted there is code,
 * whatever a tag name, branch name, actor or dispatch input holds; the safe
 * form is an `env:` entry that the script reads as a quoted variable.
 */
import { parse as parseYaml } from "yaml";

/** One expression in program text. */
export interface ExpressionFinding {
  /** Where, as a path into the workflow: `jobs.production.steps[2].with.args`. */
  readonly at: string;
  /** The expression as written, `${{ github.ref_name }}`. */
  readonly expression: string;
}

/**
 * Actions (owner/name, lower case) whose inputs reach a shell or interpreter as
 * program text, and which inputs.
 *
 * dagger/dagger-for-github at 27b130bf0f79a7f6fbbbe0fbca6760dc9bb40a77 (v8.4.1), action.yml — a composite
 * action whose bash steps contain, among others: `VERSION=${{ inputs.version }}` (line 84),
 * `COMMIT=${{ inputs.commit }}` (92), `verb=${{ inputs.verb }}` (137),
 * `args=$(echo '${{ toJSON(inputs.args) }}' | jq …)` and the same for shell, dagger-flags, call and check
 * (138–143: a `'` in the value ends the quoting), `if [[ -n "${{ inputs.call }}" ]]` (144),
 * `cd ${{ inputs.workdir }}` (171), `DAGGER_CLOUD_TOKEN=${{ inputs.cloud-token }}` (172), the assembled
 * dagger-flags, args, call and check pasted unquoted into the command (174, 177) and the summary (200),
 * `${{ inputs.summary-path }}` (231–232) and `${{ inputs.enable-github-summary }}` (236). `module` goes through
 * `env:` (135, 165) but is expanded unquoted (`${INPUT_MODULE:+-m $INPUT_MODULE}`, 176): split into words and
 * globbed. So every input counts.
 *
 * actions/github-script: its `script` input is the body of a JavaScript function.
 */
export const CODE_INPUTS: Readonly<Record<string, readonly string[] | "every input">> = {
  "dagger/dagger-for-github": "every input",
  "actions/github-script": ["script"],
};

const EXPRESSION = /\$\{\{[\s\S]*?\}\}/g;

interface StepShape {
  readonly uses?: unknown;
  readonly run?: unknown;
  readonly with?: Record<string, unknown>;
}

/** The expressions inside `text`. */
function expressionsIn(text: unknown): string[] {
  return typeof text === "string" || typeof text === "number" || typeof text === "boolean" ? (String(text).match(EXPRESSION) ?? []) : [];
}

/** The `owner/name` of a `uses:` reference (`owner/name/path@ref` too), lower case; undefined for docker:// and local actions. */
function actionName(uses: unknown): string | undefined {
  if (typeof uses !== "string" || uses.startsWith("docker://") || uses.startsWith("./")) return undefined;
  const [owner, name] = uses.replace(/@.*$/, "").split("/");
  return owner !== undefined && name !== undefined ? `${owner}/${name}`.toLowerCase() : undefined;
}

/**
 * Every `${{ … }}` in a `run:` script or a code input ({@link CODE_INPUTS}) of a workflow. Reads the YAML the way
 * GitHub does (escapes decoded, aliases resolved), so `"\x24{{ … }}"` counts as the expression it becomes.
 * @param yamlText The workflow file's text.
 */
export function findExpressionsInCode(yamlText: string): ExpressionFinding[] {
  const workflow = parseYaml(yamlText) as { jobs?: Record<string, { steps?: StepShape[] }> } | null;
  const findings: ExpressionFinding[] = [];
  for (const [jobId, job] of Object.entries(workflow?.jobs ?? {})) {
    (job?.steps ?? []).forEach((step, index) => {
      const at = `jobs.${jobId}.steps[${index}]`;
      for (const expression of expressionsIn(step.run)) findings.push({ at: `${at}.run`, expression });
      const inputs = CODE_INPUTS[actionName(step.uses) ?? ""];
      if (inputs === undefined) return;
      for (const [input, value] of Object.entries(step.with ?? {})) {
        if (inputs !== "every input" && !inputs.includes(input)) continue;
        for (const expression of expressionsIn(value)) findings.push({ at: `${at}.with.${input}`, expression });
      }
    });
  }
  return findings;
}

/**
 * Decimal strings of market data: how many decimals one has, and printing a
 * price or quantity as one, without an exponent.
 */

/** Decimals of a decimal string, trailing zeros ignored: `"61837.63000000"` → 2, `"5.000"` → 0. */
export function decimalsOf(text: string): number {
  const dot = text.indexOf(".");
  if (dot < 0) return 0;
  let end = text.length;
  while (end > dot + 1 && text.charCodeAt(end - 1) === 48) end--;
  return end - dot - 1;
}

/**
 * A price or quantity as a plain decimal string: never an exponent, at most
 * `decimals` decimals, trailing zeros trimmed. `formatDecimal(1e-7, 8)` is
 * `"0.0000001"`, `formatDecimal(61837.63, 2)` is `"61837.63"`.
 */
export function formatDecimal(value: number, decimals: number): string {
  if (!Number.isFinite(value)) return String(value);
  const places = Math.min(100, Math.max(0, Math.trunc(decimals)));
  const shortest = String(value);
  const exponent = /^(-?)(\d)(?:\.(\d+))?e\+(\d+)$/.exec(shortest);
  let text: string;
  if (exponent !== null) {
    // 1e21 and up: the shortest digits, padded with zeros up to the point
    const [, sign, lead, rest = "", power] = exponent;
    text = `${sign}${lead}${rest}${"0".repeat(Number(power) - rest.length)}`;
  } else if (!shortest.includes("e") && (shortest.split(".")[1] ?? "").length <= places) text = shortest;
  else text = value.toFixed(places);
  const trimmed = text.includes(".") ? text.replace(/\.?0+$/, "") : text;
  return trimmed === "-0" ? "0" : trimmed;
}

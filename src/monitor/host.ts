/** A host the monitor polls, as the deploy names it. */

/** A monitored host: its name, or a name and the address `{host}` stands for. */
export type MonitorHost = string | { readonly name: string; readonly address?: string };

/** The host's name, as findings and errors show it. */
export function hostName(host: MonitorHost): string {
  return typeof host === "string" ? host : host.name;
}

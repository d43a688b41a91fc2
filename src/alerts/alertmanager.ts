/**
 * The Alertmanager side of alerting as code: one Slack receiver, critical alerts repeated every 15 minutes and
 * warnings every 4 hours, a critical alert of a host silencing that host's warnings. The webhook URL is a
 * secret: the config names a file (`api_url_file`) that holds it on the Alertmanager host, written from the
 * `SLACK_WEBHOOK_URL` secret by whoever deploys Alertmanager, so the URL is never in the rendered file or the
 * repository.
 */

/** Where the rendered config expects the webhook URL, unless told otherwise. */
export const DEFAULT_WEBHOOK_FILE = "/etc/prometheus/alertmanager-secrets/slack-webhook-url";

/** Alertmanager's configuration for the pipeline's alerts. */
export function alertmanagerConfig(webhookFile: string = DEFAULT_WEBHOOK_FILE): Record<string, unknown> {
  if (!webhookFile.startsWith("/") || /[\0\n]/.test(webhookFile))
    throw new Error(`the Slack webhook file must be an absolute path, got ${JSON.stringify(webhookFile)}`);
  return {
    route: {
      receiver: "slack",
      group_by: ["alertname", "instance"],
      group_wait: "10s",
      group_interval: "1m",
      repeat_interval: "4h",
      routes: [{ receiver: "slack", matchers: ['severity="critical"'], repeat_interval: "15m" }],
    },
    receivers: [
      {
        name: "slack",
        slack_configs: [
          {
            api_url_file: webhookFile,
            send_resolved: true,
            title:
              '{{ if eq .Status "firing" }}{{ .CommonLabels.severity | toUpper }}{{ else }}RESOLVED{{ end }}: {{ .CommonAnnotations.summary }}',
            text: "{{ range .Alerts }}{{ .Annotations.description }}\n{{ end }}",
          },
        ],
      },
    ],
    inhibit_rules: [{ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ["instance"] }],
  };
}

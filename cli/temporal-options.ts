// Temporal's connection flags (commander), for `podman-tracker` and its worker alike. Each is
// over its TEMPORAL_* variable and the profile, which @temporalio/envconfig reads (client/connection.ts).
import type { Command } from 'commander';

export function addTemporalOptions(cmd: Command): Command {
  return cmd
    .option(
      '--temporal-address <host:port>',
      'Temporal frontend (TEMPORAL_ADDRESS; default: the profile, then localhost:7233)',
    )
    .option('--namespace <ns>', 'Temporal namespace (TEMPORAL_NAMESPACE; default: the profile, then default)')
    .option('--profile <name>', 'profile of the Temporal config file (TEMPORAL_PROFILE; default: default)')
    .option(
      '--config-file <file>',
      'Temporal config file (TEMPORAL_CONFIG_FILE; default: ~/.config/temporalio/temporal.toml)',
    )
    .option('--api-key <key>', 'API key, sent as a bearer token; turns TLS on (TEMPORAL_API_KEY)')
    .option('--tls', 'connect with TLS (TEMPORAL_TLS=true)')
    .option('--no-tls', 'connect without TLS, whatever the profile says')
    .option('--tls-cert-path <file>', 'client certificate for mTLS (TEMPORAL_TLS_CLIENT_CERT_PATH)')
    .option('--tls-key-path <file>', 'client key for mTLS (TEMPORAL_TLS_CLIENT_KEY_PATH)')
    .option('--tls-ca-path <file>', "CA of the server's certificate (TEMPORAL_TLS_SERVER_CA_CERT_PATH)")
    .option('--tls-server-name <name>', 'server name to verify (TEMPORAL_TLS_SERVER_NAME)');
}

// The mastodonHost key: where and how to push the env block over SSH.
import type * as pulumi from "@pulumi/pulumi";
import { defaultLocalMediaDir } from "../mastodon-env-push";
import { DEFAULTS } from "./keys";
import type { Problems } from "./problems";
import type { MastodonHostSettings } from "./settings";
import { normalizeHostKey } from "./ssh-host-key";
import { isDnsName, isPlainObject, parseJson } from "./values";

/** `pushing`: pushMastodonEnv is on, which makes hostKey required. */
export function parseMastodonHost(
  value: unknown,
  problems: Problems,
  sshKey: () => pulumi.Output<string> | undefined,
  pushing = false,
): MastodonHostSettings | undefined {
  if (value === undefined) return undefined;
  const expected = `an object like {"host": "mastodon.example.social", "user": "mastodon", "port": 22, "envFile": "${DEFAULTS.mastodonHostEnvFile}", "restart": "systemd", "hostKey": "mastodon.example.social ssh-ed25519 AAAA...", "localMediaDir": "/home/mastodon/live/public/system"}`;
  const parsed = parseJson("mastodonHost", value, problems, expected);
  if (parsed === undefined) return undefined;
  if (!isPlainObject(parsed)) return problems.add("mastodonHost", value, expected);
  const {
    host,
    user,
    port = DEFAULTS.mastodonHostPort,
    envFile = DEFAULTS.mastodonHostEnvFile,
    restart = DEFAULTS.mastodonHostRestart,
    hostKey,
    localMediaDir,
    ...rest
  } = parsed;
  for (const field of Object.keys(rest))
    problems.unknownField("mastodonHost", field, [
      "host",
      "user",
      "port",
      "envFile",
      "restart",
      "hostKey",
      "localMediaDir",
    ]);
  const hostKeyExpected =
    'the server\'s public host key: the line `ssh-keyscan -t ed25519 <host>` prints ("<host> ssh-ed25519 AAAA..."), or the server\'s /etc/ssh/ssh_host_ed25519_key.pub ("ssh-ed25519 AAAA... root@host")';
  if (hostKey === undefined && pushing) {
    problems.add(
      "mastodonHost.hostKey",
      hostKey,
      `${hostKeyExpected}; pushMastodonEnv needs it, because without it the SSH connection trusts whatever answers and hands it Mastodon's S3 key`,
    );
  }
  let normalizedHostKey: string | undefined;
  if (hostKey !== undefined) {
    const result = typeof hostKey === "string" ? normalizeHostKey(hostKey) : { problem: "it is not text" };
    if ("key" in result) normalizedHostKey = result.key;
    else problems.add("mastodonHost.hostKey", hostKey, `${hostKeyExpected}; ${result.problem}`);
  }
  const hostOk =
    typeof host === "string" &&
    (isDnsName(host.toLowerCase()) || /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || /^[0-9a-f:]+$/i.test(host));
  if (!hostOk)
    problems.add("mastodonHost.host", host, "the SSH host name or IP address of the Mastodon server");
  if (typeof user !== "string" || !/^[a-z_][a-z0-9_.-]*$/i.test(user))
    problems.add("mastodonHost.user", user, "a Unix user name");
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)
    problems.add("mastodonHost.port", port, "a TCP port, 1-65535");
  if (typeof envFile !== "string" || !envFile.startsWith("/") || /[\r\n\0'"$`\\]/.test(envFile)) {
    problems.add(
      "mastodonHost.envFile",
      envFile,
      "an absolute path without quotes, $, backquotes or backslashes",
    );
  }
  const mediaDirOk =
    localMediaDir === undefined ||
    localMediaDir === false ||
    (typeof localMediaDir === "string" && localMediaDir.startsWith("/") && !/[\r\n\0]/.test(localMediaDir));
  if (!mediaDirOk) {
    problems.add(
      "mastodonHost.localMediaDir",
      localMediaDir,
      "the absolute path of the instance's public/system on the server, or false to skip the local-media check",
    );
  }
  const restartOk = restart === "systemd" || restart === "docker-compose" || restart === "none";
  if (!restartOk) problems.add("mastodonHost.restart", restart, `one of "systemd", "docker-compose", "none"`);
  const privateKey = sshKey();
  if (!hostOk || !restartOk || !mediaDirOk || typeof envFile !== "string" || privateKey === undefined)
    return undefined;
  return {
    host: host as string,
    user: user as string,
    port: port as number,
    envFile: envFile as string,
    restart,
    hostKey: normalizedHostKey,
    privateKey,
    localMediaDir:
      localMediaDir === false
        ? undefined
        : typeof localMediaDir === "string"
          ? localMediaDir
          : defaultLocalMediaDir(envFile as string),
  };
}

// AWS Signature Version 4 for the few S3 calls the media check makes (PUT and DELETE of one object).
// Written against node:crypto so the check needs no AWS SDK at run time; tests compare it with
// @smithy/signature-v4 on the same requests.
import { createHash, createHmac } from "node:crypto";

export const ALGORITHM = "AWS4-HMAC-SHA256";

/** What to sign. Header names are matched case-insensitively; values are sent as given. */
export interface SignableRequest {
  method: string;
  /** Host header exactly as it will be sent: `host` or `host:port`. */
  host: string;
  /** Canonical, already URI-encoded path, e.g. from {@link s3ObjectPath}. S3 does not encode it again. */
  path: string;
  /** Extra headers to sign (e.g. `content-type`); `host`, `x-amz-date` and `x-amz-content-sha256` are added. */
  headers?: Record<string, string>;
  /** Request body; its SHA-256 goes into `x-amz-content-sha256`. Empty when omitted. */
  body?: string | Uint8Array;
}

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Signing region, e.g. `eu-central-2` (e2's region code, which need not be an AWS region name). */
  region: string;
  /** Signing service; always `s3` here. */
  service?: string;
}

export interface SignedRequest {
  /** Headers to send (lower-case names), including `authorization`. */
  headers: Record<string, string>;
  /** The bare signature, so callers can keep it out of anything they print. */
  signature: string;
}

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters, `!'()*` included. */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Path-style object path `/<bucket>/<key>`, each key segment encoded, slashes kept. */
export function s3ObjectPath(bucket: string, key: string): string {
  return `/${uriEncode(bucket)}/${key.split("/").map(uriEncode).join("/")}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** `20260102T030405Z`: the x-amz-date format. */
export function amzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/** Signs `request` with the credentials at `date` and returns the headers to send. */
export function signRequest(
  request: SignableRequest,
  credentials: SigningCredentials,
  date: Date,
): SignedRequest {
  const service = credentials.service ?? "s3";
  const longDate = amzDate(date);
  const shortDate = longDate.slice(0, 8);
  const payloadHash = sha256Hex(request.body ?? "");

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) headers[name.toLowerCase()] = value;
  headers["host"] = request.host;
  headers["x-amz-date"] = longDate;
  headers["x-amz-content-sha256"] = payloadHash;

  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${headers[n].trim().replace(/\s+/g, " ")}\n`).join("");
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    request.method.toUpperCase(),
    request.path,
    "", // no query string: the check never sends one to e2
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join("\n");

  const scope = `${shortDate}/${credentials.region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, longDate, scope, sha256Hex(canonicalRequest)].join("\n");

  let key: Buffer = createHmac("sha256", `AWS4${credentials.secretAccessKey}`).update(shortDate).digest();
  for (const part of [credentials.region, service, "aws4_request"]) {
    key = createHmac("sha256", key).update(part).digest();
  }
  const signature = createHmac("sha256", key).update(stringToSign).digest("hex");

  headers["authorization"] =
    `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { headers, signature };
}

// With Full (strict) TLS Cloudflare only talks to an origin whose certificate names the host it asked for:
// a certificate that misses the media host turns every media request into a 526 error.
import type { StackValidationPolicy } from "@pulumi/policy";
import { DNS_RECORD, ORIGIN_CA_CERTIFICATE, PROXIABLE_RECORD_TYPES } from "../resource-types";

function normalise(host: unknown): string {
  return String(host).toLowerCase().replace(/\.$/, "");
}

/** True when certificate host name `pattern` names `host`: equal, or `*.<parent>` one label above it. */
export function certificateHostCovers(pattern: string, host: string): boolean {
  const p = normalise(pattern);
  const h = normalise(host);
  if (p === h) return true;
  if (!p.startsWith("*.")) return false;
  const dot = h.indexOf(".");
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}

export const originCertificateCoversMediaHost: StackValidationPolicy = {
  name: "origin-certificate-covers-media-host",
  description: "An origin CA certificate in the stack must cover the media DNS record's host name.",
  remediationSteps:
    "List the media host, or the wildcard one level above it, in the certificate's hostnames.",
  validateStack: (args, reportViolation) => {
    const records = args.resources.filter(
      (r) =>
        r.type === DNS_RECORD && PROXIABLE_RECORD_TYPES.includes(String(r.props.type ?? "").toUpperCase()),
    );
    if (records.length === 0) args.notApplicable("The stack has no A, AAAA or CNAME record");
    const certificates = args.resources.filter((r) => r.type === ORIGIN_CA_CERTIFICATE);
    const hostnames = certificates.flatMap((c) =>
      Array.isArray(c.props.hostnames) ? c.props.hostnames : [],
    );
    for (const record of records) {
      const host = normalise(record.props.name);
      if (!host.includes(".")) {
        reportViolation(
          `DNS record name "${String(record.props.name)}" is not a full host name, so no certificate can be ` +
            `checked against it. Name the record <bucket>.<domain>.`,
          record.urn,
        );
      } else if (certificates.length === 0) {
        reportViolation(
          `No origin certificate in the stack covers the media host "${host}": Full (strict) TLS needs one.`,
          record.urn,
        );
      } else if (!hostnames.some((h) => certificateHostCovers(String(h), host))) {
        reportViolation(
          `No origin certificate covers the media host "${host}" (certificate host names: ` +
            `${hostnames.map(String).join(", ") || "none"}).`,
          record.urn,
        );
      }
    }
  },
};

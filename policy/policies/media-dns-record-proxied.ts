// The media host must resolve to Cloudflare, not to the e2 endpoint: unproxied, readers would bypass the
// cache, the edge rules and Full (strict) TLS, and e2's egress would be billed for every view.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { DNS_RECORD, PROXIABLE_RECORD_TYPES } from "../resource-types";

export const mediaDnsRecordProxied: ResourceValidationPolicy = {
  name: "media-dns-record-proxied",
  description: "The media host's DNS record (A, AAAA or CNAME) must be proxied by Cloudflare.",
  remediationSteps: "Set proxied: true (with ttl: 1) on the record.",
  validateResource: (args, reportViolation) => {
    if (args.type !== DNS_RECORD)
      args.notApplicable(`Policy only applies to resources of type '${DNS_RECORD}'`);
    const type = String(args.props.type ?? "").toUpperCase();
    // TXT, MX, … cannot be proxied and cannot serve media; a verification record is no violation.
    if (!PROXIABLE_RECORD_TYPES.includes(type))
      args.notApplicable(`A ${type || "typeless"} record cannot be proxied`);
    if (args.props.proxied !== true) {
      reportViolation(
        `DNS record "${String(args.props.name)}" (${type}) is not proxied: media would bypass Cloudflare's cache, ` +
          `edge rules and strict TLS. Set proxied: true.`,
      );
    }
  },
};

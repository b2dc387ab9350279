// The e2 console's "Add CNAME" step as text for a program that uses MastodonMediaStorage: iDrive offers no
// API for it (FACTS.md), so the component can only say what to paste and check that e2 serves it.

export interface E2ConsoleStepFacts {
  /** e2 S3 endpoint host: names the region in the console. */
  endpoint: string;
  /** `*.<domain>`: what goes in the CNAME field. */
  cnameDomain: string;
  /** SHA-256 fingerprint (hex) of the origin certificate e2 must serve. */
  certificateSha256: string;
  /** Whether e2 served that certificate for the media host at the last check. */
  registered: boolean;
}

/** What the operator does in the e2 console, or that it is done. Names no secret. */
export function e2ConsoleStep(facts: E2ConsoleStepFacts): string {
  if (facts.registered)
    return `Done: e2 serves the origin certificate (SHA-256 ${facts.certificateSha256}) for ${facts.cnameDomain} at ${facts.endpoint}.`;
  return [
    `Register the custom domain in the iDrive e2 console (iDrive offers no API for this step):`,
    `  1. e2 console → Regions → the region whose endpoint is ${facts.endpoint} → Settings → Add CNAME.`,
    `  2. CNAME: ${facts.cnameDomain}`,
    `  3. Certificate: the component's originCertificatePem output; private key: its originPrivateKeyPem output ` +
      `(secret: export it from your program and read it with \`pulumi stack output <name> --show-secrets\`).`,
    `  4. The certificate's SHA-256 fingerprint must be ${facts.certificateSha256}`,
    `  5. Run \`pulumi up\` again: it checks that e2 serves the certificate for the media host.`,
  ].join("\n");
}

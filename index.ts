// mastodon-media: one Mastodon instance's media on iDrive e2 behind Cloudflare. One stack per instance.
import { parseSettings, readStackConfig } from "./components/config";
import { MastodonMediaStorage } from "./components/mastodon-media-storage";

const media = new MastodonMediaStorage("mastodon-media", parseSettings(readStackConfig()));

export const mediaHost = media.mediaHost;
export const mediaBaseUrl = media.mediaBaseUrl;
export const bucketName = media.bucketName;
export const e2Endpoint = media.e2Endpoint;
export const mastodonEnv = media.mastodonEnv;
export const zoneId = media.edge.zoneId;
export const cnameDomain = media.edge.cnameDomain;
export const originCertificatePem = media.edge.originCertificatePem;
export const originPrivateKeyPem = media.edge.originPrivateKeyPem;
export const originCertificateExpiresOn = media.edge.originCertificateExpiresOn;
export const customDomain = media.customDomainStatus;

// The bucket holds every uploaded file of the instance. Pulumi deletes what leaves the program (a rename, a
// removed line, `pulumi destroy`), so the bucket must carry `protect` and need a deliberate unprotect first.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { BUCKET, BUCKET_V2, E2_BUCKET } from "../resource-types";

const BUCKET_TYPES = [E2_BUCKET, BUCKET, BUCKET_V2];

export const e2BucketProtected: ResourceValidationPolicy = {
  name: "e2-bucket-protected",
  description: "The e2 bucket must be protected so no update or destroy can delete the instance's media.",
  remediationSteps: "Create the bucket with the resource option protect: true.",
  validateResource: (args, reportViolation) => {
    if (!BUCKET_TYPES.includes(args.type)) {
      args.notApplicable(
        `Policy only applies to resources of type ${BUCKET_TYPES.map((t) => `'${t}'`).join(", ")}`,
      );
    }
    if (args.opts.protect !== true) {
      reportViolation(
        `Bucket "${args.name}" is not protected: deleting it would delete every media file. ` +
          `Set the resource option protect: true.`,
      );
    }
  },
};

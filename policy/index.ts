// Entry point `pulumi preview --policy-pack policy` loads: constructing the pack starts the analyzer server
// the CLI talks to. Nothing else belongs here.
import { PolicyPack } from "@pulumi/policy";
import { PACK_NAME, packArgs } from "./pack";

new PolicyPack(PACK_NAME, packArgs);

import { WebhookSuite } from "@outdial/testing"
import * as MemoryBatchStore from "../src/MemoryBatchStore.ts"

WebhookSuite.run("Webhooks on the memory store", MemoryBatchStore.layer)

import { BatchStoreSuite, DoNotCallSuite } from "@outdial/testing"
import * as DoNotCall from "../src/DoNotCall.ts"
import * as MemoryBatchStore from "../src/MemoryBatchStore.ts"

BatchStoreSuite.run("MemoryBatchStore.layer", MemoryBatchStore.layer)

DoNotCallSuite.run("DoNotCall.layerMemory", DoNotCall.layerMemory())

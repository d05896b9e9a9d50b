import { BatchStoreSuite } from "@outdial/testing"
import * as BatchStore from "../src/BatchStore.ts"

BatchStoreSuite.run("BatchStore.layerMemory", BatchStore.layerMemory)

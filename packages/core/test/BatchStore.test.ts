import * as BatchStore from "../src/BatchStore.ts"
import * as BatchStoreSuite from "../src/BatchStoreSuite.ts"

BatchStoreSuite.run("BatchStore.layerMemory", BatchStore.layerMemory)

/** What bench:batches' parent and its engine processes agree on. */
import { Directory } from "@outdial/core"

export const organizationId = "org_batches"

export const directory = Directory.layerStatic({
  agents: [{ id: "agent_batches", organizationId, ready: true, phoneNumberIds: ["num_a", "num_b"] }],
  callerNumbers: [
    { id: "num_a", organizationId, number: "+12025550100", outboundEnabled: true, agentId: "agent_batches" },
    { id: "num_b", organizationId, number: "+12025550101", outboundEnabled: true, agentId: "agent_batches" }
  ]
})

/** The tenant of the crash tests' engine processes. */
import { Directory } from "@outdial/core"

export const organizationId = "org_crash"

export const directory = Directory.layerStatic({
  agents: [{ id: "agent_crash", organizationId, ready: true, phoneNumberIds: ["num_a", "num_b"] }],
  callerNumbers: [
    { id: "num_a", organizationId, number: "+12025550100", outboundEnabled: true, agentId: "agent_crash" },
    { id: "num_b", organizationId, number: "+12025550101", outboundEnabled: true, agentId: "agent_crash" }
  ]
})

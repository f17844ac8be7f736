namespace FailoverAgent.Kube;

/// <summary>Who the agent is: its pod (downward API), and the group whose Lease it follows.</summary>
public sealed record AgentIdentity(string Group, string Namespace, string Pod);

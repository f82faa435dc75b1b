// Log Analytics (container logs, system logs) and a workspace-based Application Insights that receives the apps'
// OpenTelemetry traces and logs through the Container Apps environment's managed OpenTelemetry agent.
param location string
param tags object
param token string

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${token}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${token}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
  }
}

output logAnalyticsWorkspaceName string = workspace.name
output applicationInsightsConnectionString string = insights.properties.ConnectionString

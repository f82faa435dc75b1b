// The Container Apps environment (Consumption workload profile): container logs to Log Analytics; the managed
// OpenTelemetry agent forwards the apps' OTLP traces and logs to Application Insights. Container Apps then sets
// OTEL_EXPORTER_OTLP_ENDPOINT in every app, which ServiceDefaults reads to turn the OTLP exporter on.
param location string
param tags object
param token string
param logAnalyticsWorkspaceName string
@secure()
param applicationInsightsConnectionString string

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: logAnalyticsWorkspaceName
}

// appInsightsConfiguration and openTelemetryConfiguration (the managed OpenTelemetry agent) exist only in preview API
// versions of Microsoft.App/managedEnvironments so far; the apps themselves use the GA version.
resource environment 'Microsoft.App/managedEnvironments@2025-10-02-preview' = {
  name: 'cae-${token}'
  location: location
  tags: tags
  properties: {
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
    appInsightsConfiguration: {
      connectionString: applicationInsightsConnectionString
    }
    openTelemetryConfiguration: {
      tracesConfiguration: { destinations: ['appInsights'] }
      logsConfiguration: { destinations: ['appInsights'] }
    }
  }
}

output id string = environment.id
output defaultDomain string = environment.properties.defaultDomain

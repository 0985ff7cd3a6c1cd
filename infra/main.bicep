// Herald on Azure: one Linux Python Function App, its storage (tables + queues), monitoring,
// and a Key Vault holding the key that seals hubs' secrets (SAS keys, PNS credentials) at rest.
//
// Two hosting plans, chosen by `hostingPlan`:
//   flex         Flex Consumption (FC1). Identity everywhere: the storage account refuses
//                shared-key access, the host and the app reach storage with the app's
//                managed identity, and the code package lives in a blob container.
//   consumption  Linux Consumption (Y1), for regions without Flex. Y1 keeps its code on an
//                Azure Files content share, which only accepts the account key, and its deploy
//                tooling reads the `AzureWebJobsStorage` connection string; so on this path
//                shared-key access stays ON and the connection strings carry the account key.
//                Y1 is retired on 30 Sep 2028: prefer flex.
//
// Written one property per line and without filtered loops so that pycep-parser (the parser
// checkov uses) reads it: see infra/validate.sh.

targetScope = 'resourceGroup'

@description('Azure region for every resource.')
param location string = resourceGroup().location

@description('Short name used in every resource name (letters, digits, hyphens).')
@minLength(3)
@maxLength(16)
param baseName string

@description('flex = Flex Consumption (FC1, preferred); consumption = Linux Consumption (Y1).')
@allowed([
  'flex'
  'consumption'
])
param hostingPlan string = 'flex'

@description('Python version of the Functions worker.')
@allowed([
  '3.11'
])
param pythonVersion string = '3.11'

@description('Flex only: the most instances the app may scale out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Flex only: memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Replication of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_LRS'

@description('NCRONTAB schedule of feedback_processor (six fields, seconds first).')
param feedbackSchedule string = '0 */5 * * * *'

@description('Host names clients reach the app by besides its own *.azurewebsites.net one (custom domains, a Front Door or gateway name), comma-separated, each host or host:port (HERALD_PUBLIC_HOSTS). A SAS token must be signed for one of them or for the default host name of the app.')
param publicHosts string = ''

@description('Bearer tokens (docs/deploy.md, "Signing in with Entra ID"): the audience of the tokens Herald accepts, the client id of its app registration (HERALD_AUTH_AUDIENCE). Empty: only SAS keys are accepted. The app registration itself is made with az (docs/deploy.md): Bicep creates Entra objects only through the Microsoft Graph extension, which this template does not use.')
param authAudience string = ''

@description('With authAudience: the token issuers Herald trusts, comma-separated (HERALD_AUTH_ISSUER). Empty: Entra ID (v2.0 tokens) of the tenant this deployment is in.')
param authIssuers string = ''

@description('The key that seals hub secrets at rest: 32 random bytes, base64 (openssl rand -base64 32). Give it on the first deployment and when rotating; leave it empty otherwise, which keeps the current Key Vault secret untouched.')
@secure()
param heraldSecretKey string = ''

@description('During a key rotation only: the Key Vault version id of the previous secret-encryption key, which the app then still opens old secrets with (HERALD_SECRET_KEY_PREVIOUS). Empty otherwise.')
param previousSecretVersion string = ''

@description('Days of logs kept in Log Analytics.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

var isFlex = hostingPlan == 'flex'
var token = toLower(uniqueString(resourceGroup().id, baseName))
// Storage and Key Vault names are global and at most 24 characters: shorten baseName, never
// the unique token.
var shortName = take(toLower(replace(baseName, '-', '')), 9)
var storageName = 'st${shortName}${token}'
var keyVaultName = 'kv${shortName}${token}'
var appName = 'func-${baseName}-${token}'
var deploymentContainer = 'app-package-${take(token, 8)}'
var contentShare = take('content-${toLower(baseName)}-${token}', 63)
var secretName = 'herald-secret-key'

// The queues the workers trigger on, and the poison queues the host moves failures to (the
// poison handlers' own failures go one level further); made up front so that alerts and
// dashboards can watch them before the first failure.
var queueNames = [
  'fanout'
  'deliveries'
  'fanout-poison'
  'deliveries-poison'
  'fanout-poison-poison'
  'deliveries-poison-poison'
  'jobs'
  'jobs-poison'
]
var tableNames = [
  'hubs'
  'installations'
  'tagindex'
  'notifications'
  'feedback'
  'scheduled'
  'metrics'
  'jobs'
]

// Built-in role definition ids (infra/lint_bicep.py checks every role id against this set).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}
var storageRoleIds = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: !isFlex
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deployContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (isFlex) {
  parent: blobService
  name: deploymentContainer
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in queueNames: {
  parent: queueService
  name: q
}]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [for t in tableNames: {
  parent: tableService
  name: t
}]

resource fileService 'Microsoft.Storage/storageAccounts/fileServices@2023-05-01' = if (!isFlex) {
  parent: storage
  name: 'default'
}

resource share 'Microsoft.Storage/storageAccounts/fileServices/shares@2023-05-01' = if (!isFlex) {
  parent: fileService
  name: contentShare
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${baseName}-${token}'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${baseName}-${token}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Written only when a value is given, so a later deployment without the parameter does not
// replace (and so rotate by accident) the key that decrypts every stored PNS credential.
resource secretKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(heraldSecretKey)) {
  parent: vault
  name: secretName
  properties: {
    value: heraldSecretKey
    contentType: 'text/plain; herald secret-encryption key'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${baseName}-${token}'
  location: location
  kind: 'functionapp'
  sku: isFlex ? {
    tier: 'FlexConsumption'
    name: 'FC1'
  } : {
    tier: 'Dynamic'
    name: 'Y1'
  }
  properties: {
    reserved: true
  }
}

// Settings both plans share. The Key Vault reference names no version, so the app reads the
// newest version of the secret (re-read on restart or within a day). During a rotation the
// previous version is named too; an unresolvable reference would reach the app as text, so
// HERALD_SECRET_KEY_PREVIOUS exists only while a version is given.
var secretUri = '${vault.properties.vaultUri}secrets/${secretName}/'
var previousKeySettings = empty(previousSecretVersion) ? [] : [
  {
    name: 'HERALD_SECRET_KEY_PREVIOUS'
    value: '@Microsoft.KeyVault(SecretUri=${secretUri}${previousSecretVersion})'
  }
]
// Bearer tokens: both settings, or neither (then only SAS keys are accepted).
var entraIssuer = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
var bearerSettings = empty(authAudience) ? [] : [
  {
    name: 'HERALD_AUTH_ISSUER'
    value: empty(authIssuers) ? entraIssuer : authIssuers
  }
  {
    name: 'HERALD_AUTH_AUDIENCE'
    value: authAudience
  }
]
var commonSettings = concat(previousKeySettings, bearerSettings, [
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'Authorization=AAD'
  }
  {
    name: 'HERALD_SECRET_KEY'
    value: '@Microsoft.KeyVault(SecretUri=${secretUri})'
  }
  {
    name: 'HERALD_FEEDBACK_SCHEDULE'
    value: feedbackSchedule
  }
  {
    name: 'HERALD_PUBLIC_HOSTS'
    value: publicHosts
  }
])

// Flex: the runtime lives in functionAppConfig; FUNCTIONS_WORKER_RUNTIME and the content
// settings must not be set. Storage is reached with the managed identity.
var flexSettings = concat(commonSettings, [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storage.name
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
])

var storageConnection = 'DefaultEndpointsProtocol=https;AccountName=${storage.name};EndpointSuffix=${environment().suffixes.storage};AccountKey=${storage.listKeys().keys[0].value}'

// Y1: the classic settings, plus the Azure Files content share (shared key only).
var consumptionSettings = concat(commonSettings, [
  {
    name: 'FUNCTIONS_EXTENSION_VERSION'
    value: '~4'
  }
  {
    name: 'FUNCTIONS_WORKER_RUNTIME'
    value: 'python'
  }
  {
    name: 'AzureWebJobsStorage'
    value: storageConnection
  }
  {
    name: 'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING'
    value: storageConnection
  }
  {
    name: 'WEBSITE_CONTENTSHARE'
    value: contentShare
  }
])

var flexAppConfig = {
  deployment: {
    storage: {
      type: 'blobContainer'
      value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
      authentication: {
        type: 'SystemAssignedIdentity'
      }
    }
  }
  scaleAndConcurrency: {
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
  runtime: {
    name: 'python'
    version: pythonVersion
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    siteConfig: {
      linuxFxVersion: isFlex ? '' : 'Python|${pythonVersion}'
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: isFlex ? flexSettings : consumptionSettings
    }
    functionAppConfig: isFlex ? flexAppConfig : null
  }
  dependsOn: [
    deployContainer
    share
  ]
}

// No FTP and no basic-auth deployments: publishing goes through Entra ID.
resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

// The host needs blob (leases, timer locks, Flex package) and queue rights; Herald's own code
// needs queue and table rights. Granted on the account, the narrowest scope that holds them all.
resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in storageRoleIds: {
  name: guid(storage.id, appName, roleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}]

resource vaultRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appName, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource insightsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appName, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output functionAppName string = app.name
output functionAppEndpoint string = 'https://${app.properties.defaultHostName}'
output hostingPlan string = hostingPlan
output storageAccountName string = storage.name
output keyVaultName string = vault.name
output keyVaultSecretName string = secretName
output appInsightsName string = appInsights.name
output principalId string = app.identity.principalId

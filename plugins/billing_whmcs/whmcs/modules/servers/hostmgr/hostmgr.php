<?php
/**
 * hostmgr server module for WHMCS: sells n8n instances and reseller accounts.
 *
 * WHMCS calls hostmgr_<Action>($params) through a service's lifecycle. Each
 * function talks to hostmgr's integration API (/api/integration on port 8448)
 * with the server's API token, and answers "success" or a message a WHMCS
 * admin can act on. Runs on PHP 7.4 and newer, with the curl extension.
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

require_once __DIR__ . '/lib/Errors.php';
require_once __DIR__ . '/lib/ApiClient.php';
require_once __DIR__ . '/lib/Service.php';
require_once __DIR__ . '/lib/Provisioner.php';
require_once __DIR__ . '/lib/Overview.php';

use WHMCS\Database\Capsule;
use WHMCS\Module\Server\Hostmgr\ApiClient;
use WHMCS\Module\Server\Hostmgr\ApiError;
use WHMCS\Module\Server\Hostmgr\ModuleError;
use WHMCS\Module\Server\Hostmgr\Overview;
use WHMCS\Module\Server\Hostmgr\Provisioner;
use WHMCS\Module\Server\Hostmgr\Service;

// --- module definition -----------------------------------------------------------

function hostmgr_MetaData()
{
    return [
        'DisplayName' => 'hostmgr (n8n hosting)',
        'APIVersion' => '1.1',
        'RequiresServer' => true,
        'DefaultNonSSLPort' => '8448',
        'DefaultSSLPort' => '8448',
        'ServiceSingleSignOnLabel' => 'Log in to the n8n panel',
        'AdminSingleSignOnLabel' => 'Log in to hostmgr',
    ];
}

/** configoption1, 2 and 3, in this order: package, n8n version, account type. */
function hostmgr_ConfigOptions(array $params = [])
{
    return [
        'Package' => [
            'Type' => 'text',
            'Size' => '25',
            'Loader' => 'hostmgr_PackageLoader',
            'SimpleMode' => true,
            'Description' => 'The hostmgr package: CPU, memory and disk of the instance',
        ],
        'n8n Version' => [
            'Type' => 'text',
            'Size' => '20',
            'Default' => 'latest',
            'SimpleMode' => true,
            'Description' => 'The n8n image tag, e.g. latest or 1.64.0',
        ],
        'Account Type' => [
            'Type' => 'dropdown',
            'Options' => 'instance,reseller',
            'Default' => 'instance',
            'SimpleMode' => true,
            'Description' => 'instance: one n8n instance per service; reseller: a reseller account',
        ],
    ];
}

/**
 * The packages hostmgr offers, for the Package dropdown.
 *
 * @return array<string, string> name => name
 * @throws Exception shown by WHMCS next to the field
 */
function hostmgr_PackageLoader(array $params)
{
    try {
        $packages = hostmgr_run('PackageLoader', $params, function (ApiClient $api) {
            return $api->get('/packages')['packages'] ?? [];
        });
    } catch (ModuleError $error) {
        throw new Exception($error->getMessage());
    }
    $names = [];
    foreach ($packages as $package) {
        $name = (string) ($package['name'] ?? '');
        if ($name !== '') {
            $names[$name] = $name;
        }
    }
    if (!$names) {
        throw new Exception(
            'hostmgr has no packages yet: create one with '
            . '`hostmgr package create --name Starter --cpu 1 --ram 1 --disk 10`'
        );
    }
    return $names;
}

function hostmgr_TestConnection(array $params)
{
    try {
        hostmgr_run('TestConnection', $params, function (ApiClient $api) {
            $api->get('/connection/test');
        });
        return ['success' => true, 'error' => ''];
    } catch (ModuleError $error) {
        return ['success' => false, 'error' => $error->getMessage()];
    }
}

// --- the service lifecycle -------------------------------------------------------

function hostmgr_CreateAccount(array $params)
{
    $create = function (Provisioner $account, Service $service) {
        $made = $account->create();
        hostmgr_saveService($service->id(), $made['username'], $made['domain']);
    };
    return hostmgr_perform('CreateAccount', $params, $create);
}

function hostmgr_SuspendAccount(array $params)
{
    $reason = (string) ($params['suspendreason'] ?? '');
    $suspend = function (Provisioner $account) use ($reason) {
        $account->suspend($reason);
    };
    return hostmgr_perform('SuspendAccount', $params, $suspend);
}

function hostmgr_UnsuspendAccount(array $params)
{
    return hostmgr_perform('UnsuspendAccount', $params, function (Provisioner $account) {
        $account->unsuspend();
    });
}

function hostmgr_TerminateAccount(array $params)
{
    return hostmgr_perform('TerminateAccount', $params, function (Provisioner $account) {
        $account->terminate();
    });
}

function hostmgr_ChangePackage(array $params)
{
    return hostmgr_perform('ChangePackage', $params, function (Provisioner $account) {
        $account->changePackage();
    });
}

function hostmgr_ChangePassword(array $params)
{
    return hostmgr_perform('ChangePassword', $params, function (Provisioner $account) {
        $account->changePassword();
    });
}

// --- power buttons ---------------------------------------------------------------

function hostmgr_ClientAreaCustomButtonArray(array $params = [])
{
    if ($params && (new Service($params))->isReseller()) {
        return [];
    }
    return ['Start' => 'start', 'Stop' => 'stop', 'Restart' => 'restart'];
}

function hostmgr_AdminCustomButtonArray(array $params = [])
{
    return hostmgr_ClientAreaCustomButtonArray($params);
}

function hostmgr_start(array $params)
{
    return hostmgr_power('start', $params);
}

function hostmgr_stop(array $params)
{
    return hostmgr_power('stop', $params);
}

function hostmgr_restart(array $params)
{
    return hostmgr_power('restart', $params);
}

function hostmgr_power(string $action, array $params)
{
    $power = function (Provisioner $account) use ($action) {
        $account->power($action);
    };
    return hostmgr_perform(ucfirst($action), $params, $power);
}

// --- single sign-on --------------------------------------------------------------

/** Sign the service's client into the panel with a one-time link. */
function hostmgr_ServiceSingleSignOn(array $params)
{
    try {
        $url = hostmgr_run('ServiceSingleSignOn', $params, function ($api, Service $service) {
            return (new Provisioner($api, $service))->singleSignOn();
        });
        return ['success' => true, 'redirectTo' => $url];
    } catch (ModuleError $error) {
        return ['success' => false, 'errorMsg' => $error->getMessage()];
    }
}

/** Sign the WHMCS admin into the panel as the owner of the server's API token. */
function hostmgr_AdminSingleSignOn(array $params)
{
    try {
        $url = hostmgr_run('AdminSingleSignOn', $params, function (ApiClient $api) {
            $owner = (string) ($api->get('/connection/test')['user']['email'] ?? '');
            if ($owner === '') {
                throw new ModuleError('hostmgr did not name the owner of the server\'s API token');
            }
            return (string) $api->post('/users/sso', ['email' => $owner])['redirect_url'];
        });
        return ['success' => true, 'redirectTo' => $url];
    } catch (ModuleError $error) {
        return ['success' => false, 'errorMsg' => $error->getMessage()];
    }
}

// --- what clients and admins see -------------------------------------------------

function hostmgr_ClientArea(array $params)
{
    $service = new Service($params);
    $vars = [
        'serviceid' => $service->id(),
        'sso_url' => $service->singleSignOnLink(),
        'account_type' => Service::INSTANCE,
        'error' => '',
    ];
    try {
        $vars = array_merge($vars, hostmgr_run('ClientArea', $params, 'hostmgr_describeService'));
    } catch (ModuleError $error) {
        // The detail is in the module log; a client cannot act on it.
        $vars['error'] = 'The live status of this service cannot be shown right now. '
            . 'Please try again later, or contact support if this goes on.';
    }
    return ['templatefile' => 'templates/clientarea', 'vars' => $vars];
}

/** @return array<string, string> label => HTML */
function hostmgr_AdminServicesTabFields(array $params)
{
    try {
        $fields = hostmgr_run('AdminServicesTabFields', $params, 'hostmgr_describeForAdmin');
    } catch (ModuleError $error) {
        $fields = ['hostmgr' => $error->getMessage()];
    }
    return array_map(function ($value) {
        return htmlspecialchars((string) $value, ENT_QUOTES, 'UTF-8');
    }, $fields);
}

/**
 * The client area's template variables: the instance's or the reseller's state.
 *
 * @return array<string, mixed>
 */
function hostmgr_describeService(ApiClient $api, Service $service)
{
    $overview = new Overview($api);
    $account = new Provisioner($api, $service);
    if ($service->isReseller()) {
        return ['account_type' => Service::RESELLER]
            + $overview->reseller($account->ownedReseller());
    }
    return $overview->instance((string) $account->ownedInstance()['name']);
}

/**
 * The admin's service tab, as plain text: hostmgr_AdminServicesTabFields escapes it.
 *
 * @return array<string, string>
 */
function hostmgr_describeForAdmin(ApiClient $api, Service $service)
{
    $overview = new Overview($api);
    $account = new Provisioner($api, $service);
    if ($service->isReseller()) {
        $reseller = $overview->reseller($account->ownedReseller());
        return [
            'Reseller' => $reseller['username'],
            'Status' => $reseller['status'],
            'Customers' => (string) $reseller['customers'],
            'Instances' => sprintf(
                '%d (%d running)',
                $reseller['instances_total'],
                $reseller['instances_running']
            ),
        ];
    }
    $instance = $account->ownedInstance();
    $live = $overview->instance((string) $instance['name']);
    return [
        'Instance' => $live['name'],
        'Status' => $live['status'],
        'Domain' => $live['domain'],
        'Package' => (string) ($instance['package'] ?? ''),
        'n8n Version' => (string) ($instance['version'] ?? ''),
        'CPU' => $live['cpu_percent'],
        'Memory' => sprintf(
            '%s of %s (%s)',
            $live['memory_usage'],
            $live['memory_limit'],
            $live['memory_percent']
        ),
        'Disk' => $live['disk_usage'] . ' of ' . $live['disk_limit'],
    ];
}

// --- usage -----------------------------------------------------------------------

/** Copy this month's disk and traffic of every instance on the server into WHMCS. */
function hostmgr_UsageUpdate(array $params)
{
    try {
        hostmgr_run('UsageUpdate', $params, function (ApiClient $api) use ($params) {
            $report = $api->get('/usage');
            $now = date('Y-m-d H:i:s');
            foreach ($report['instances'] ?? [] as $instance) {
                $domain = (string) ($instance['domain'] ?? '');
                if ($domain === '') {
                    continue;
                }
                hostmgr_storeUsage((int) ($params['serverid'] ?? 0), $domain, [
                    'diskusage' => (int) round((float) ($instance['disk_usage_mb'] ?? 0)),
                    'disklimit' => (int) round((float) ($instance['disk_limit_mb'] ?? 0)),
                    'bwusage' => (int) round((float) ($instance['bandwidth_mb'] ?? 0)),
                    'bwlimit' => (int) round((float) ($instance['bandwidth_limit_mb'] ?? 0)),
                    'lastupdate' => $now,
                ]);
            }
        });
        return 'success';
    } catch (ModuleError $error) {
        return $error->getMessage();
    }
}

/**
 * Write one instance's usage onto the WHMCS services of this server with its
 * domain. The module's only database write.
 *
 * @param array<string, int|string> $usage
 */
function hostmgr_storeUsage(int $serverId, string $domain, array $usage)
{
    Capsule::table('tblhosting')
        ->where('server', $serverId)
        ->where('domain', $domain)
        ->update($usage);
}

// --- helpers ---------------------------------------------------------------------

/**
 * Run $work(ApiClient, Service) for a WHMCS action and return what it returns.
 *
 * @throws ModuleError with a message for the WHMCS admin; every failure that
 *         is not hostmgr's answer is logged here (the client logs its calls)
 */
function hostmgr_run(string $action, array $params, callable $work)
{
    $service = new Service($params);
    try {
        return $work(ApiClient::fromParams($params, $action, $service->secrets()), $service);
    } catch (ApiError $error) {
        throw $error;
    } catch (ModuleError $error) {
        hostmgr_logFailure($action, $service, $error->getMessage());
        throw $error;
    } catch (Throwable $error) {
        $message = 'hostmgr module error: ' . $error->getMessage();
        hostmgr_logFailure(
            $action,
            $service,
            $message . ' (' . basename($error->getFile()) . ':' . $error->getLine() . ')'
        );
        throw new ModuleError($message, 0, $error);
    }
}

/** Run $work(Provisioner, Service); answer "success" or the error, as WHMCS expects. */
function hostmgr_perform(string $action, array $params, callable $work)
{
    try {
        hostmgr_run($action, $params, function (ApiClient $api, Service $service) use ($work) {
            $work(new Provisioner($api, $service), $service);
        });
        return 'success';
    } catch (ModuleError $error) {
        return $error->getMessage();
    }
}

/** Keep the instance's name and domain on the service, where the module finds them. */
function hostmgr_saveService(int $serviceId, string $username, string $domain)
{
    $fields = ['serviceid' => $serviceId, 'serviceusername' => $username];
    if ($domain !== '') {
        $fields['domain'] = $domain;
    }
    $result = localAPI('UpdateClientProduct', $fields);
    if (($result['result'] ?? '') !== 'success') {
        throw new ModuleError(
            'hostmgr made "' . $username . '", but WHMCS could not save it on the service ('
            . ($result['message'] ?? 'no reason given') . '): set the service\'s username to "'
            . $username . '"' . ($domain !== '' ? ' and its domain to "' . $domain . '"' : '')
        );
    }
}

function hostmgr_logFailure(string $action, Service $service, string $message)
{
    if (function_exists('logModuleCall')) {
        $request = 'service ' . $service->id();
        logModuleCall('hostmgr', $action, $request, $message, $message, $service->secrets());
    }
}

<?php
/**
 * A service's lifecycle in hostmgr: its account, its instance, its sign-in.
 *
 * An instance product gives the client a standard hostmgr user (found or
 * created by email) and one n8n instance; a reseller product gives the client
 * a hostmgr reseller. Every action that changes an instance or a reseller first
 * checks that it belongs to this service's client, so a mistyped username on a
 * service cannot touch another customer's instance.
 */

namespace WHMCS\Module\Server\Hostmgr;

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

class Provisioner
{
    /** @var ApiClient */
    private $api;

    /** @var Service */
    private $service;

    public function __construct(ApiClient $api, Service $service)
    {
        $this->api = $api;
        $this->service = $service;
    }

    /**
     * Create the service's account; safe to repeat after a failure part-way.
     *
     * @return array{username: string, domain: string} what WHMCS keeps on the service
     */
    public function create(): array
    {
        return $this->service->isReseller() ? $this->createReseller() : $this->createInstance();
    }

    public function suspend(string $reason): void
    {
        if ($this->service->isReseller()) {
            $path = $this->ownedResellerPath() . '/suspend';
            $this->api->post($path, null, ApiClient::LONG_TIMEOUT);
            return;
        }
        $reason = trim($reason);
        $body = $reason === '' ? null : ['reason' => self::shorten($reason, 255)];
        $this->api->post($this->ownedInstancePath() . '/suspend', $body, ApiClient::ACTION_TIMEOUT);
    }

    public function unsuspend(): void
    {
        if ($this->service->isReseller()) {
            $path = $this->ownedResellerPath() . '/unsuspend';
            $this->api->post($path, null, ApiClient::LONG_TIMEOUT);
            return;
        }
        $path = $this->ownedInstancePath() . '/unsuspend';
        $this->api->post($path, null, ApiClient::ACTION_TIMEOUT);
    }

    /** Remove the instance or the reseller; one that is already gone counts as done. */
    public function terminate(): void
    {
        try {
            if ($this->service->isReseller()) {
                $this->terminateReseller();
                return;
            }
            $path = $this->ownedInstancePath() . '/terminate';
            $this->api->post($path, null, ApiClient::ACTION_TIMEOUT);
        } catch (NotProvisioned $gone) {
            return;
        }
    }

    public function changePackage(): void
    {
        // A reseller account has no package: its customers' instances do.
        if ($this->service->isReseller()) {
            return;
        }
        try {
            $this->api->post(
                $this->ownedInstancePath() . '/upgrade',
                ['package' => $this->service->package()],
                ApiClient::ACTION_TIMEOUT
            );
        } catch (ApiError $error) {
            throw self::withPackageHint($error);
        }
    }

    /** Set the client's panel password to the service's password. */
    public function changePassword(): void
    {
        $password = ['password' => $this->service->password()];
        try {
            if ($this->service->isReseller()) {
                $this->api->patch($this->ownedResellerPath(), $password);
                return;
            }
            $email = (string) $this->existingCustomer()['email'];
            $this->api->patch('/users/' . ApiClient::segment($email), $password);
        } catch (ApiError $error) {
            throw self::withPasswordHint($error);
        }
    }

    /** Run start, stop or restart on the service's instance. */
    public function power(string $action): void
    {
        if ($this->service->isReseller()) {
            throw new ModuleError('A reseller account has no instance to ' . $action);
        }
        $path = $this->ownedInstancePath() . '/' . $action;
        $this->api->post($path, null, ApiClient::ACTION_TIMEOUT);
    }

    /** A one-time link that signs the service's client into the panel. */
    public function singleSignOn(): string
    {
        if ($this->service->isReseller()) {
            $target = ['username' => $this->ownedReseller()];
        } else {
            $target = ['email' => (string) $this->existingCustomer()['email']];
        }
        return (string) $this->api->post('/users/sso', $target)['redirect_url'];
    }

    /**
     * The instance of this service, after checking that it is the client's.
     *
     * @return array<string, mixed>
     */
    public function ownedInstance(): array
    {
        $name = $this->service->instanceName();
        $instance = $this->findInstance($name);
        if ($instance === null) {
            throw new NotProvisioned(
                'hostmgr has no instance "' . $name . '" for this service: run Create, or set '
                . 'the instance\'s name as the service\'s username'
            );
        }
        $email = $this->service->clientEmail();
        $customer = $this->findUser($email);
        if ($customer === null || (int) $instance['user_id'] !== (int) $customer['id']) {
            throw new ModuleError(
                'The hostmgr instance "' . $name . '" belongs to another account than this '
                . 'client\'s (' . $email . '): check the service\'s username; if the client '
                . 'changed their email in WHMCS, change it in hostmgr too'
            );
        }
        $this->refuseAdmin($customer);
        return $instance;
    }

    /**
     * @return array{username: string, domain: string}
     */
    private function createInstance(): array
    {
        $customer = $this->ensureCustomer();
        $name = $this->service->instanceName();
        try {
            $created = $this->api->post('/instances/create', [
                'name' => $name,
                'package' => $this->service->package(),
                'email' => $customer['email'],
                'version' => $this->service->version(),
            ], ApiClient::LONG_TIMEOUT);
            return ['username' => $name, 'domain' => (string) $created['domain']];
        } catch (ApiError $error) {
            if (!$error->isTaken('name')) {
                throw self::withPackageHint($error);
            }
        }
        // A retry after a create whose answer was lost: the instance is there already.
        $existing = $this->findInstance($name);
        $free = 'set a free name (letters, digits, - and _, 3 to 63 characters) as this '
            . 'service\'s username and run Create again';
        if ($existing === null || (int) $existing['user_id'] !== (int) $customer['id']) {
            throw new ModuleError(
                'The instance name "' . $name . '" is taken by another hostmgr account: ' . $free
            );
        }
        $domain = (string) $existing['domain'];
        // Only this service's own name proves the instance is this service's, not
        // another service's of the same client.
        if (!$this->service->isOwnName($name) && !$this->service->hasDomain($domain)) {
            throw new ModuleError(
                'The instance "' . $name . '" already belongs to this client, maybe to another '
                . 'of their services: if it is this service\'s, set the service\'s domain to "'
                . $domain . '" and run Create again; else ' . $free
            );
        }
        return ['username' => $name, 'domain' => $domain];
    }

    /**
     * The client's standard hostmgr user, created with the service's password if
     * it does not exist yet.
     *
     * @return array<string, mixed>
     */
    private function ensureCustomer(): array
    {
        $email = $this->service->clientEmail();
        $customer = $this->findUser($email);
        if ($customer === null) {
            try {
                $this->api->post('/users', [
                    'name' => $this->service->clientName(),
                    'email' => $email,
                    'password' => $this->service->password(),
                ]);
            } catch (ApiError $error) {
                // Taken: a concurrent create for another service of this client won.
                if (!$error->isTaken('email')) {
                    throw self::withPasswordHint($error);
                }
            }
            $customer = $this->findUser($email);
            if ($customer === null) {
                throw new ModuleError(
                    'hostmgr has an account with the email ' . $email . ' that this server\'s '
                    . 'API token cannot reach (another reseller\'s customer): use a token of '
                    . 'that reseller, or an admin token'
                );
            }
        }
        return $this->refuseAdmin($customer);
    }

    /**
     * @return array<string, mixed>
     */
    private function existingCustomer(): array
    {
        $email = $this->service->clientEmail();
        $customer = $this->findUser($email);
        if ($customer === null) {
            throw new NotProvisioned(
                'hostmgr has no account with the email ' . $email . ' in this token\'s reach: '
                . 'run Create for this service first'
            );
        }
        return $this->refuseAdmin($customer);
    }

    /**
     * @param array<string, mixed> $user
     * @return array<string, mixed>
     */
    private function refuseAdmin(array $user): array
    {
        if (($user['role'] ?? '') === 'admin') {
            throw new ModuleError(
                'The email ' . $user['email'] . ' belongs to a hostmgr admin: the module will '
                . 'not give a client an admin\'s panel. Give the client or the admin another email'
            );
        }
        return $user;
    }

    /**
     * @return array{username: string, domain: string}
     */
    private function createReseller(): array
    {
        $username = $this->service->resellerUsername();
        $email = $this->service->clientEmail();
        try {
            $this->api->post('/resellers', [
                'name' => $this->service->clientName(),
                'email' => $email,
                'password' => $this->service->password(),
                'username' => $username,
            ]);
        } catch (ApiError $error) {
            // Taken by this client's own reseller: a retry of a create that worked.
            $taken = $error->isTaken('username') || $error->isTaken('email');
            if (!$taken || !$this->isClientsReseller($username)) {
                throw self::withPasswordHint($error);
            }
        }
        return ['username' => $username, 'domain' => ''];
    }

    private function terminateReseller(): void
    {
        try {
            $this->api->delete($this->ownedResellerPath());
        } catch (ApiError $error) {
            if ($error->getHttpStatus() === 409) {
                throw new ModuleError(
                    $error->getMessage() . ': terminate the services of the reseller\'s '
                    . 'customers first, then terminate this one again'
                );
            }
            throw $error;
        }
    }

    /** The reseller's username, after checking that it is this client's. */
    public function ownedReseller(): string
    {
        $username = $this->service->resellerUsername();
        $reseller = $this->findUser($username);
        if ($reseller === null) {
            throw new NotProvisioned(
                'hostmgr has no reseller "' . $username . '" for this service: run Create, or '
                . 'set the reseller\'s username on the service'
            );
        }
        if (!$this->isClientsReseller($username, $reseller)) {
            throw new ModuleError(
                'The hostmgr account "' . $username . '" is not a reseller of this service\'s '
                . 'client (' . $this->service->clientEmail() . '): check the service\'s username'
            );
        }
        return $username;
    }

    /**
     * @param array<string, mixed>|null $found the account, when already looked up
     */
    private function isClientsReseller(string $username, ?array $found = null): bool
    {
        $account = $found ?? $this->findUser($username);
        return $account !== null
            && ($account['role'] ?? '') === 'reseller'
            && strcasecmp((string) $account['email'], $this->service->clientEmail()) === 0;
    }

    /** $error, saying where the package comes from when hostmgr does not know it. */
    private static function withPackageHint(ApiError $error): ApiError
    {
        if ($error->getHttpStatus() !== 404 || stripos($error->getMessage(), 'package') === false) {
            return $error;
        }
        return new ApiError(
            $error->getMessage() . ': pick one of hostmgr\'s packages in the product\'s '
            . 'Module Settings',
            404
        );
    }

    /** $error, saying where the password comes from when hostmgr refuses it. */
    private static function withPasswordHint(ApiError $error): ApiError
    {
        if (!isset($error->getFieldErrors()['password'])) {
            return $error;
        }
        return new ApiError(
            $error->getMessage() . ': the panel password is the service\'s password, so set '
            . 'one of at least 8 characters on the service',
            $error->getHttpStatus(),
            $error->getFieldErrors()
        );
    }

    /** $text cut to at most $length characters, without splitting a UTF-8 one. */
    private static function shorten(string $text, int $length): string
    {
        if (preg_match('/^.{0,' . $length . '}/us', $text, $match)) {
            return $match[0];
        }
        return substr($text, 0, $length);
    }

    private function ownedResellerPath(): string
    {
        return '/resellers/' . ApiClient::segment($this->ownedReseller());
    }

    private function ownedInstancePath(): string
    {
        return '/instances/' . ApiClient::segment((string) $this->ownedInstance()['name']);
    }

    /**
     * @return array<string, mixed>|null
     */
    private function findUser(string $ref): ?array
    {
        return $this->findOrNull('/users/' . ApiClient::segment($ref), 'user');
    }

    /**
     * @return array<string, mixed>|null
     */
    private function findInstance(string $name): ?array
    {
        return $this->findOrNull('/instances/' . ApiClient::segment($name), 'instance');
    }

    /**
     * @return array<string, mixed>|null
     */
    private function findOrNull(string $path, string $key): ?array
    {
        try {
            $found = $this->api->get($path);
        } catch (ApiError $error) {
            if ($error->getHttpStatus() === 404) {
                return null;
            }
            throw $error;
        }
        if (!isset($found[$key]) || !is_array($found[$key])) {
            throw new ApiError(
                'hostmgr answered GET ' . $path . ' without "' . $key . '": is it a version '
                . 'of hostmgr with this endpoint?',
                200
            );
        }
        return $found[$key];
    }
}

<?php

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

// Debian's php-laravel-framework (8.83); the Laravel tests skip without it.
if (is_file('/usr/share/php/Illuminate/autoload.php')) {
    require_once '/usr/share/php/Illuminate/autoload.php';
}

spl_autoload_register(static function (string $class): void {
    $prefix = 'TenantMl\\Tests\\';
    if (strncmp($class, $prefix, strlen($prefix)) === 0) {
        $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});

<?php
// Loads the Pirsch\Native\ classes without Composer: require this file, then use Pirsch\Native\Client.
declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'Pirsch\\Native\\')) {
        $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, 14)) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});

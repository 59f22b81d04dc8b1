/* NUCLEO-L4R5ZI port (STM32L4R5ZI, Cortex-M4F at 120 MHz) on STM32Cube HAL.
 *   UART      LPUART1 on PG7 (TX) / PG8 (RX): the ST-LINK virtual COM port, 115200 8N1
 *   timer     TIM2, 32-bit, 1 MHz: the m-lap-us counter (wraps like the reference's %lu)
 *   timestamp PF13 (Arduino D7), push-pull, idle high: 1 us low pulse in energy builds
 *   LED       LD1 (PC7) lit while a timed loop runs
 * The runner is TFLite Micro when built with EE_TFLM_DIR, otherwise the synthetic self-test. */
#include <string.h>

#include "ee/core.h"
#include "stm32l4xx_hal.h"

#ifdef EE_WITH_TFLM
#include "tflm_runner.h"
extern const uint8_t ee_model_data[];
static uint8_t g_arena[EE_ARENA_BYTES] __attribute__((aligned(16)));
#else
#include "synthetic.h"
static ee_synthetic g_synthetic;
#endif

#ifndef EE_MODEL
#define EE_MODEL "kws01"
#endif
#ifndef EE_ENERGY_MODE
#define EE_ENERGY_MODE 0
#endif
#ifndef EE_MAX_INPUT
#define EE_MAX_INPUT 27648u
#endif

static UART_HandleTypeDef g_uart;
static TIM_HandleTypeDef g_tim;
static uint8_t g_buffer[EE_MAX_INPUT];
static ee_runner g_runner;
static ee_ctx g_ctx;

#define RING_SIZE 8192u
static volatile uint8_t g_ring[RING_SIZE];
static volatile uint32_t g_head, g_tail;
static uint8_t g_rx_byte;

static void clock_120mhz(void)
{
    RCC_OscInitTypeDef osc = {0};
    RCC_ClkInitTypeDef clk = {0};
    HAL_PWREx_ControlVoltageScaling(PWR_REGULATOR_VOLTAGE_SCALE1_BOOST);
    osc.OscillatorType = RCC_OSCILLATORTYPE_MSI;
    osc.MSIState = RCC_MSI_ON;
    osc.MSICalibrationValue = RCC_MSICALIBRATION_DEFAULT;
    osc.MSIClockRange = RCC_MSIRANGE_6; /* 4 MHz */
    osc.PLL.PLLState = RCC_PLL_ON;
    osc.PLL.PLLSource = RCC_PLLSOURCE_MSI;
    osc.PLL.PLLM = 1;
    osc.PLL.PLLN = 60;
    osc.PLL.PLLP = RCC_PLLP_DIV2;
    osc.PLL.PLLQ = RCC_PLLQ_DIV2;
    osc.PLL.PLLR = RCC_PLLR_DIV2; /* 4 MHz * 60 / 2 = 120 MHz */
    HAL_RCC_OscConfig(&osc);
    clk.ClockType = RCC_CLOCKTYPE_HCLK | RCC_CLOCKTYPE_SYSCLK | RCC_CLOCKTYPE_PCLK1 | RCC_CLOCKTYPE_PCLK2;
    clk.SYSCLKSource = RCC_SYSCLKSOURCE_PLLCLK;
    clk.AHBCLKDivider = RCC_SYSCLK_DIV1;
    clk.APB1CLKDivider = RCC_HCLK_DIV1;
    clk.APB2CLKDivider = RCC_HCLK_DIV1;
    HAL_RCC_ClockConfig(&clk, FLASH_LATENCY_5);
}

static void pins(void)
{
    GPIO_InitTypeDef gpio = {0};
    __HAL_RCC_PWR_CLK_ENABLE();
    HAL_PWREx_EnableVddIO2(); /* port G is on VDDIO2 */
    __HAL_RCC_GPIOG_CLK_ENABLE();
    __HAL_RCC_GPIOF_CLK_ENABLE();
    __HAL_RCC_GPIOC_CLK_ENABLE();
    gpio.Pin = GPIO_PIN_7 | GPIO_PIN_8;
    gpio.Mode = GPIO_MODE_AF_PP;
    gpio.Pull = GPIO_PULLUP;
    gpio.Speed = GPIO_SPEED_FREQ_VERY_HIGH;
    gpio.Alternate = GPIO_AF8_LPUART1;
    HAL_GPIO_Init(GPIOG, &gpio);
    HAL_GPIO_WritePin(GPIOF, GPIO_PIN_13, GPIO_PIN_SET);
    gpio.Pin = GPIO_PIN_13;
    gpio.Mode = GPIO_MODE_OUTPUT_PP;
    gpio.Pull = GPIO_NOPULL;
    gpio.Alternate = 0;
    HAL_GPIO_Init(GPIOF, &gpio);
    gpio.Pin = GPIO_PIN_7;
    HAL_GPIO_Init(GPIOC, &gpio);
}

static void uart(uint32_t baud)
{
    __HAL_RCC_LPUART1_CLK_ENABLE();
    g_uart.Instance = LPUART1;
    g_uart.Init.BaudRate = baud;
    g_uart.Init.WordLength = UART_WORDLENGTH_8B;
    g_uart.Init.StopBits = UART_STOPBITS_1;
    g_uart.Init.Parity = UART_PARITY_NONE;
    g_uart.Init.Mode = UART_MODE_TX_RX;
    g_uart.Init.HwFlowCtl = UART_HWCONTROL_NONE;
    HAL_UART_Init(&g_uart);
    HAL_NVIC_SetPriority(LPUART1_IRQn, 0, 0);
    HAL_NVIC_EnableIRQ(LPUART1_IRQn);
    HAL_UART_Receive_IT(&g_uart, &g_rx_byte, 1);
}

static void timer_1mhz(void)
{
    __HAL_RCC_TIM2_CLK_ENABLE();
    g_tim.Instance = TIM2;
    g_tim.Init.Prescaler = (uint32_t)(HAL_RCC_GetPCLK1Freq() / 1000000u) - 1u;
    g_tim.Init.CounterMode = TIM_COUNTERMODE_UP;
    g_tim.Init.Period = 0xFFFFFFFFu;
    g_tim.Init.ClockDivision = TIM_CLOCKDIVISION_DIV1;
    HAL_TIM_Base_Init(&g_tim);
    HAL_TIM_Base_Start(&g_tim);
}

void LPUART1_IRQHandler(void)
{
    HAL_UART_IRQHandler(&g_uart);
}

void HAL_UART_RxCpltCallback(UART_HandleTypeDef *huart)
{
    if (g_head - g_tail < RING_SIZE) {
        g_ring[g_head % RING_SIZE] = g_rx_byte;
        g_head++;
    }
    HAL_UART_Receive_IT(huart, &g_rx_byte, 1);
}

void HAL_UART_ErrorCallback(UART_HandleTypeDef *huart)
{
    /* An overrun drops bytes: the host sees a missing m-ready / bad CRC and retries. */
    HAL_UART_Receive_IT(huart, &g_rx_byte, 1);
}

void SysTick_Handler(void)
{
    HAL_IncTick();
}

static uint8_t next_byte(void)
{
    uint8_t c;
    while (g_head == g_tail) {
        __WFI();
    }
    c = g_ring[g_tail % RING_SIZE];
    g_tail++;
    return c;
}

static void hal_write(void *user, const uint8_t *data, size_t len)
{
    (void)user;
    HAL_UART_Transmit(&g_uart, (uint8_t *)data, (uint16_t)len, HAL_MAX_DELAY);
}

static uint32_t hal_micros(void *user)
{
    (void)user;
    return TIM2->CNT;
}

static void hal_timestamp_pin(void *user)
{
    /* Falling edge held low for at least 1 us (EEMBC requirement), then idle high. */
    uint32_t start;
    (void)user;
    GPIOF->BRR = GPIO_PIN_13;
    start = TIM2->CNT;
    while (TIM2->CNT - start < 2u) {
    }
    GPIOF->BSRR = GPIO_PIN_13;
}

static int hal_set_baud(void *user, uint32_t baud, int apply)
{
    (void)user;
    if (baud < 9600u || baud > 4000000u) {
        return -1;
    }
    if (apply) {
        while (__HAL_UART_GET_FLAG(&g_uart, UART_FLAG_TC) == RESET) {
        }
        HAL_UART_AbortReceive_IT(&g_uart);
        HAL_UART_DeInit(&g_uart);
        uart(baud);
    }
    return 0;
}

static void hal_led(void *user, int on)
{
    (void)user;
    HAL_GPIO_WritePin(GPIOC, GPIO_PIN_7, on ? GPIO_PIN_SET : GPIO_PIN_RESET);
}

static const ee_hal g_hal = {hal_write, hal_micros, hal_timestamp_pin, NULL, hal_set_baud, hal_led, NULL};

int main(void)
{
    ee_config cfg;
    HAL_Init();
    clock_120mhz();
    pins();
    timer_1mhz();
    uart(115200u);
#ifdef EE_WITH_TFLM
    if (ee_tflm_init(&g_runner, ee_model_data, EE_MODEL, g_arena, sizeof g_arena) != 0) {
        static const char msg[] = "e-[TFLite Micro init failed: model, profile or arena size]\r\n";
        hal_write(NULL, (const uint8_t *)msg, sizeof msg - 1);
        for (;;) {
            __WFI();
        }
    }
#else
    ee_synthetic_init(&g_synthetic, &g_runner, EE_MODEL, 150000u);
#endif
    memset(&cfg, 0, sizeof cfg);
    cfg.hal = &g_hal;
    cfg.runner = &g_runner;
    cfg.vendor = "edgeperf nucleo-l4r5zi";
    cfg.model = EE_MODEL;
    cfg.buffer = g_buffer;
    cfg.buffer_size = sizeof g_buffer;
    cfg.energy_mode = EE_ENERGY_MODE;
    cfg.binary = 1;
    ee_init(&g_ctx, &cfg);
    for (;;) {
        ee_feed(&g_ctx, next_byte());
    }
}
